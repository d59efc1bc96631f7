/**
 * First run with nothing configured: Ferry prints an admin password and a starter FTP account once; the admin
 * site accepts the first in a real browser and the FTP port accepts the second. A restart prints neither again.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'basic-ftp';
import { Readable, Writable } from 'node:stream';
import { afterAll, expect, it } from 'vitest';
import { launchBrowser, newPage, saveScreenshot } from '../support/browser.js';
import { startSystem } from '../support/start-system.js';

const dataDir = await mkdtemp(path.join(tmpdir(), 'ferry-first-run-'));
afterAll(() => rm(dataDir, { recursive: true, force: true }));

/** The credentials in the (JSON) log line whose message matches `what`. */
const printed = (logs: string[], what: RegExp) => {
  const line = logs.find((l) => what.test(l));
  const msg = line ? (JSON.parse(line) as { msg: string }).msg : '';
  const match = /"(.+?)" with password (\S+) \(shown once/.exec(msg);
  return match ? { username: match[1]!, password: match[2]! } : null;
};

it('prints working admin and FTP credentials once', async () => {
  const system = await startSystem({ dataDir, env: { FERRY_ADMIN_PASSWORD: '' } });
  try {
    const admin = printed(system.logs(), /First start: created admin/);
    const ftpUser = printed(system.logs(), /First start: created FTP account/);
    expect(admin?.username).toBe('admin');
    expect(admin?.password.length).toBeGreaterThanOrEqual(20);
    expect(ftpUser?.username).toBe('ferry');

    const client = new Client(10_000);
    try {
      await client.access({ host: '127.0.0.1', port: system.ftpPort, user: ftpUser!.username, password: ftpUser!.password });
      await client.uploadFrom(Readable.from([Buffer.from('first file\n')]), 'hello.txt');
      expect((await client.list()).map((f) => f.name)).toEqual(['hello.txt']);
      const chunks: Buffer[] = [];
      await client.downloadTo(new Writable({ write: (c, _e, cb) => (chunks.push(c), cb()) }), 'hello.txt');
      expect(Buffer.concat(chunks).toString()).toBe('first file\n');
    } finally {
      client.close();
    }

    const browser = await launchBrowser();
    try {
      const page = await newPage(browser, { baseURL: system.httpUrl });
      await page.goto('/');
      await page.getByLabel('Username').fill(admin!.username);
      await page.getByLabel('Password').fill(admin!.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
      await saveScreenshot(page, 'first-run-overview');
    } finally {
      await browser.close();
    }
  } finally {
    expect(await system.stop()).toBe(0);
  }

  const again = await startSystem({ dataDir, env: { FERRY_ADMIN_PASSWORD: '' } });
  try {
    expect(again.logs().some((l) => l.includes('First start'))).toBe(false);
  } finally {
    await again.stop();
  }
});
