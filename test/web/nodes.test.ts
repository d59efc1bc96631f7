/**
 * The dashboard of one node shows the sessions of another: two real Ferry processes (nodes a and b) on one throwaway
 * PostgreSQL cluster, real Chromium signed in to a's admin site, a real FTP client logged in on b. a's live table
 * lists b's session with its node, its transcript shows what the client said on b, and Disconnect (asked first)
 * closes it on b.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'basic-ftp';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain ES module without types, shared with the database package's tests
import { createDatabase, startPostgresCluster } from '../../scripts/postgres-cluster.mjs';
import { openDashboard, saveScreenshot } from '../support/browser.js';
import { startSystem, type System } from '../support/start-system.js';

const USER = 'remote-rita';
const PASSWORD = 'rita-secret-42';
const POLL = { timeout: 15_000, interval: 200 };

let cluster: { url: string; stop(): void } | undefined;
let dir = '';
const nodes: Partial<Record<'a' | 'b', System>> = {};
let browser: Browser | undefined;
let page: Page;
let pageErrors: string[];
let ftp: Client | null = null;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ferry-web-nodes-'));
  cluster = (await startPostgresCluster()) as NonNullable<typeof cluster>;
  const databaseUrl = createDatabase(cluster!.url, 'ferry_web_nodes', { owner: 'ferry_web', password: 'web-nodes-password' }) as string;
  const env = (name: string) => ({ FERRY_DATABASE_URL: databaseUrl, FERRY_NODE_NAME: name, FERRY_HOME_ROOTS: path.join(dir, 'files') });
  nodes.a = await startSystem({ env: env('a') });
  nodes.b = await startSystem({ env: env('b') });
  expect((await nodes.a.api('POST', '/api/v1/users', { username: USER, password: PASSWORD })).status).toBe(201);
  ({ browser, page, pageErrors } = await openDashboard(nodes.a));
}, 180_000);

afterAll(async () => {
  ftp?.close();
  await browser?.close();
  for (const system of [nodes.a, nodes.b]) await system?.stop().catch(() => undefined);
  cluster?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe('the live view across nodes', () => {
  it('shows b’s session on a’s dashboard, with its node and transcript, and disconnects it from there', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Live sessions' }).click();
    await page.getByRole('heading', { name: 'Live sessions', level: 1 }).waitFor();
    ftp = new Client(20_000);
    await ftp.access({ host: '127.0.0.1', port: nodes.b!.ftpPort, user: USER, password: PASSWORD });
    await ftp.send('CLNT rita-on-node-b');

    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: USER }) });
    await expect.poll(() => row.count(), POLL).toBe(1);
    expect(await row.locator('td[data-label="Node"]').innerText()).toBe('b');
    expect(await row.locator('td[data-label="State"]').innerText()).toContain('recorded');
    await saveScreenshot(page, 'nodes-1-live-table');

    await row.getByRole('link', { name: USER }).click();
    const transcript = page.getByRole('region', { name: 'Live transcript' });
    await expect
      .poll(async () => (await transcript.count()) > 0 && (await transcript.innerText()).includes('CLNT rita-on-node-b'), POLL)
      .toBe(true);

    await page.getByRole('button', { name: 'Disconnect…' }).click();
    const dialog = page.getByRole('dialog', { name: `Disconnect ${USER}?` });
    await dialog.getByRole('button', { name: 'Disconnect' }).click();
    await expect.poll(() => ftp!.closed, POLL).toBe(true);
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'closed on node b' }).count(), POLL).toBe(1);
    await saveScreenshot(page, 'nodes-2-disconnected');
    const audit = await nodes.a!.api('GET', '/api/v1/audit?limit=5');
    const entry = (audit.body.items as { action: string; detail: string | null }[]).find((e) => e.action === 'session.disconnect');
    expect(JSON.parse(entry?.detail ?? '{}')).toMatchObject({ username: USER, node: 'b' });
    expect(pageErrors).toEqual([]);
  });
});
