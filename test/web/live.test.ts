/**
 * The live view against a real Ferry process and a real FTP client: a throttled download's byte counter and
 * percentage move while it runs (not only at its 226), the selected row is one colour across, Disconnect asks
 * first, the user editor warns before unsaved changes are left behind, and the page fits a 390 px phone.
 */
import { Readable, Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { Client } from 'basic-ftp';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newPage, openDashboard, saveScreenshot } from '../support/browser.js';
import { startSystem, type System } from '../support/start-system.js';

const USER = 'live-lena';
const PASSWORD = 'lena-secret-42';
const SIZE = 4 * 1024 * 1024;
const RATE = 512 * 1024;
const POLL = { timeout: 15_000, interval: 200 };
const UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };

let system: System;
let browser: Browser;
let page: Page;
let pageErrors: string[];
let ftp: Client | null = null;

const nav = (name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name });
const row = () => page.getByRole('row').filter({ has: page.getByRole('link', { name: USER }) });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** "2.13 MB" → bytes (as shown: rounded to the displayed digits). */
function parseBytes(text: string): number {
  const match = /([\d.]+)\s*(B|KB|MB|GB)\b/.exec(text);
  if (!match) throw new Error(`no byte count in ${JSON.stringify(text)}`);
  return Number(match[1]) * UNITS[match[2]!]!;
}

async function loginFtp(): Promise<Client> {
  const client = new Client(20_000);
  await client.access({ host: '127.0.0.1', port: system.ftpPort, user: USER, password: PASSWORD });
  return client;
}

async function liveSessionIds(): Promise<string[]> {
  const res = await system.api('GET', '/api/v1/sessions');
  expect(res.status).toBe(200);
  return (res.body.items as { id: string; username: string | null }[]).filter((s) => s.username === USER).map((s) => s.id);
}

describe('live sessions', () => {
  beforeAll(async () => {
    system = await startSystem();
    const created = await system.api('POST', '/api/v1/users', { username: USER, password: PASSWORD, downloadBytesPerSecond: RATE });
    expect(created.status).toBe(201);
    const uploader = await loginFtp();
    await uploader.uploadFrom(Readable.from([randomBytes(SIZE)]), 'big.bin');
    uploader.close();
    ({ browser, page, pageErrors } = await openDashboard(system));
  });

  afterAll(async () => {
    ftp?.close();
    await browser?.close();
    await system?.stop();
  });

  it("counts a throttled download's bytes and percentage up while it runs", async () => {
    await nav('Live sessions').click();
    await page.getByRole('heading', { name: 'Live sessions', level: 1 }).waitFor();
    ftp = await loginFtp();
    await expect.poll(() => row().count(), POLL).toBe(1);
    await row().getByRole('link', { name: USER }).click();
    await expect.poll(() => page.url(), POLL).toMatch(/\/sessions\/live\/[^/]+$/);

    let received = 0;
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => ((received += chunk.length), done()) });
    const download = ftp.downloadTo(sink, 'big.bin');
    const out = row().locator('td[data-label="Out"]');
    const progress = row().getByTestId('transfer-progress');
    await expect.poll(() => progress.count(), POLL).toBe(1);

    const samples: { out: number; percent: number; text: string }[] = [];
    for (let i = 0; i < 4; i++) {
      // The first progress tick can come before the first bytes: wait for a start.
      await expect.poll(async () => /\b[1-9]\d*%/.test(await progress.innerText()), POLL).toBe(true);
      const text = await progress.innerText();
      samples.push({ out: parseBytes(await out.innerText()), percent: Number(/(\d+)%/.exec(text)![1]), text });
      if (i === 1) await saveScreenshot(page, 'live-1-progress');
      await sleep(1300); // the server reports progress once a second
    }
    for (let i = 1; i < samples.length; i++) {
      expect(samples[i]!.out, JSON.stringify(samples)).toBeGreaterThan(samples[i - 1]!.out);
      expect(samples[i]!.percent, JSON.stringify(samples)).toBeGreaterThan(samples[i - 1]!.percent);
    }
    expect(samples[0]!.percent).toBeGreaterThan(0);
    expect(samples.at(-1)!.percent).toBeLessThan(100);
    // The size comes from the file (the 150 reply's count): "of 4 MB", a rate near the limit and the time left.
    expect(samples[1]!.text).toContain('of 4 MB');
    expect(samples[1]!.text).toMatch(/\d+(\.\d+)? KB\/s/);
    expect(samples[1]!.text).toMatch(/\d+s left/);
    // The followed session's header moves too.
    await expect.poll(() => page.getByTestId('session-bytes').innerText(), POLL).toMatch(/↓ [\d.]+ MB/);
    expect(
      await page
        .getByRole('region', { name: new RegExp(`^${USER}`) })
        .getByTestId('transfer-progress')
        .innerText(),
    ).toMatch(/\d+%/);

    // The selected row is one colour across: no cell (the transfer's included) keeps another background.
    const backgrounds = await row().evaluate((tr) =>
      [...tr.querySelectorAll('td')].map((td) => [
        td.dataset['label'] ?? '',
        getComputedStyle(td).display,
        getComputedStyle(td).backgroundColor,
      ]),
    );
    const colours = new Set(backgrounds.map(([, , colour]) => colour));
    expect(colours.size, JSON.stringify(backgrounds)).toBe(1);
    expect([...colours][0]).not.toBe('rgba(0, 0, 0, 0)');
    expect(
      backgrounds.every(([, display]) => display === 'table-cell'),
      JSON.stringify(backgrounds),
    ).toBe(true);

    await download;
    expect(received).toBe(SIZE);
    await expect.poll(() => row().getByTestId('transfer-progress').count(), POLL).toBe(0);
    await expect.poll(async () => parseBytes(await out.innerText()), POLL).toBeGreaterThanOrEqual(4 * 1024 ** 2);
    await saveScreenshot(page, 'live-2-done');
  });

  it('numbers the live transcript with links that mark their line', async () => {
    const transcript = page.getByRole('region', { name: 'Live transcript' });
    await transcript.getByRole('link', { name: 'Line 3', exact: true }).click();
    await expect.poll(() => page.url(), POLL).toMatch(/\/sessions\/live\/[^/?]+\?line=3$/);
    await expect.poll(() => transcript.locator('[aria-current="location"]').count(), POLL).toBe(1);
    expect(await transcript.locator('[aria-current="location"]').innerText()).toMatch(/^3\b/);
  });

  it('asks before disconnecting: Cancel keeps the session, confirming ends it', async () => {
    const [id] = await liveSessionIds();
    expect(id).toBeDefined();
    await page.getByRole('button', { name: 'Disconnect…' }).click();
    const dialog = page.getByRole('dialog', { name: `Disconnect ${USER}?` });
    await dialog.waitFor();
    await saveScreenshot(page, 'live-3-disconnect-confirm');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => dialog.count(), POLL).toBe(0);
    await sleep(500);
    expect(await liveSessionIds()).toEqual([id]);
    await ftp!.send('NOOP'); // still connected

    await page.getByRole('button', { name: 'Disconnect…' }).click();
    await dialog.getByRole('button', { name: 'Disconnect' }).click();
    await expect.poll(() => liveSessionIds(), POLL).toEqual([]);
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Session ended' }).count(), POLL).toBe(1);
    await expect.poll(() => dialog.count(), POLL).toBe(0);
    ftp!.close();
    ftp = null;
  });

  it('fits a 390 px phone: the live table stacks, with no sideways scrolling of the page', async () => {
    ftp = await loginFtp();
    const phone = await newPage(browser, { viewport: { width: 390, height: 844 }, storageState: await page.context().storageState() });
    try {
      await phone.goto(`${system.httpUrl}/sessions/live`);
      await phone.getByRole('heading', { name: 'Live sessions', level: 1 }).waitFor();
      const phoneRow = phone.getByRole('row').filter({ has: phone.getByRole('link', { name: USER }) });
      await expect.poll(() => phoneRow.count(), POLL).toBe(1);
      await phoneRow.getByRole('link', { name: USER }).click();
      await phone.getByRole('button', { name: 'Disconnect…' }).waitFor();
      // During a download, whose progress is the widest thing in the row.
      const download = ftp.downloadTo(new Writable({ write: (_chunk, _enc, done) => done() }), 'big.bin').catch(() => undefined);
      await expect.poll(async () => /\d+%/.test(await phoneRow.innerText()), POLL).toBe(true);
      const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow).toBeLessThanOrEqual(0);
      // Every cell's label and value are on screen, not in a table wider than the phone.
      const box = await phoneRow.boundingBox();
      expect(box!.x).toBeGreaterThanOrEqual(0);
      expect(box!.x + box!.width).toBeLessThanOrEqual(390);
      await saveScreenshot(phone, 'live-4-phone');
      ftp.close(); // ends the download early
      await download;
    } finally {
      await phone.context().close();
      ftp.close();
      ftp = null;
    }
  });

  it('warns before leaving a user with unsaved changes, and not after saving or reverting', async () => {
    await nav('Users').click();
    await page.getByRole('link', { name: USER }).click();
    await page.getByRole('heading', { name: USER, level: 1 }).waitFor();
    const leave = page.getByRole('dialog', { name: 'Leave without saving?' });

    // Untouched: leaving just leaves.
    await nav('Live sessions').click();
    await page.getByRole('heading', { name: 'Live sessions', level: 1 }).waitFor();
    await page.goBack();
    await page.getByRole('heading', { name: USER, level: 1 }).waitFor();

    await page.getByLabel('Storage quota').fill('3 GB');
    await nav('History').click();
    await leave.waitFor();
    await saveScreenshot(page, 'live-5-unsaved-changes');
    await leave.getByRole('button', { name: 'Cancel' }).click();
    expect(await page.getByRole('heading', { name: USER, level: 1 }).count()).toBe(1);
    expect(await page.getByLabel('Storage quota').inputValue()).toBe('3 GB');

    // Back goes through the same question.
    await page.goBack();
    await leave.waitFor();
    await leave.getByRole('button', { name: 'Cancel' }).click();
    expect(page.url()).toMatch(new RegExp(`/users/${USER}$`));

    // Closing the tab or reloading gets the browser's own prompt.
    const prompt = page.waitForEvent('dialog');
    void page.reload().catch(() => undefined);
    const dialog = await prompt;
    expect(dialog.type()).toBe('beforeunload');
    await dialog.dismiss();

    // Reverting clears it.
    await page.getByRole('button', { name: 'Discard changes' }).click();
    expect(await page.getByLabel('Storage quota').inputValue()).toBe('');
    await nav('Users').click();
    await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
    expect(await leave.count()).toBe(0);

    // Saving clears it too; and "Leave page" leaves with the edits dropped.
    await page.getByRole('link', { name: USER }).click();
    await page.getByLabel('Storage quota').fill('3 GB');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Changes saved' }).count(), POLL).toBe(1);
    await page.getByLabel('File count quota').fill('10');
    await nav('Users').click();
    await leave.getByRole('button', { name: 'Leave page' }).click();
    await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
    const stored = await system.api('GET', `/api/v1/users/${USER}`);
    expect(stored.body).toMatchObject({ quotaBytes: 3 * 1024 ** 3, quotaFiles: null });

    // Settings, its per-network overrides included, ask the same way.
    await nav('Settings').click();
    await page.getByRole('heading', { name: 'Network and passive mode' }).waitFor();
    await page.getByLabel('Welcome banner').fill('Changed, not saved');
    await nav('Users').click();
    await leave.waitFor();
    await leave.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('button', { name: 'Discard changes' }).click();
    await page.getByRole('button', { name: '+ Add override' }).click();
    await nav('Users').click();
    await leave.getByRole('button', { name: 'Leave page' }).click();
    await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
    expect((await system.api('GET', '/api/v1/settings')).body.values).toMatchObject({ passiveAddressOverrides: [] });
    expect(pageErrors).toEqual([]);
  });
});
