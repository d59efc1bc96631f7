/**
 * The transcript doctor in a real browser against a real Ferry process: a client that never opens its passive
 * data connection gets a finding badge on its live session at once, and its stored session shows the
 * explanation and the fix right after the transcript lines that prove it. The Get connected page runs the
 * self-test and lists the checks and the firewall rules. Screenshots land in test/artifacts/.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Control, createUser, eventually, patchSettings, sessionOf } from '../diagnosis/support/doctor.js';
import { openDashboard, saveScreenshot } from '../support/browser.js';
import { startSystem, type System } from '../support/start-system.js';

const FTP_USER = 'doc-frida';
const FTP_PASSWORD = 'frida-ftp-password';
const POLL = { timeout: 15_000, interval: 200 };
const TITLE = 'The client never opened the passive data connection';

let system: System;
let browser: Browser;
let page: Page;
let pageErrors: string[];
let ftp: Control | null = null;

const nav = (name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name });

describe('transcript doctor in the dashboard', () => {
  beforeAll(async () => {
    system = await startSystem();
    await createUser(system, FTP_USER, FTP_PASSWORD);
    await patchSettings(system, { dataConnectTimeoutSeconds: 1 });
    ({ browser, page, pageErrors } = await openDashboard(system));
  });

  afterAll(async () => {
    ftp?.close();
    await browser?.close();
    await system?.stop();
  });

  it('badges the live session as soon as its passive data connection times out', async () => {
    await nav('Live sessions').click();
    await page.getByRole('heading', { name: 'Live sessions', level: 1 }).waitFor();
    ftp = await Control.open(system.ftpPort);
    expect((await ftp.read()).code).toBe(220);
    await ftp.login(FTP_USER, FTP_PASSWORD);
    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: FTP_USER }) });
    await expect.poll(() => row.count(), POLL).toBe(1);
    expect(await row.getByText('1 finding').count()).toBe(0);

    await ftp.send('EPSV', 229);
    await ftp.send('LIST', 150);
    expect((await ftp.read()).code).toBe(425);
    // Over the WebSocket, while the client is still connected and silent.
    await expect.poll(() => row.locator('.badge.error', { hasText: '1 finding' }).count(), POLL).toBe(1);
    await saveScreenshot(page, 'diagnosis-1-live-badge');
  });

  it('shows the explanation and the fix beside the transcript lines that prove it', async () => {
    const { localPort } = ftp!;
    await ftp!.send('QUIT', 221);
    ftp!.close();
    // History is read once when the page opens: wait until the closed session and its finding are stored.
    const session = await eventually(async () => {
      const s = await sessionOf(system, '127.0.0.1', localPort);
      return s.endedAt !== null && s.findings === 1 ? s : undefined;
    }, 'the closed session with its finding');

    await nav('History').click();
    await page.getByRole('heading', { name: 'History', level: 1 }).waitFor();
    const link = page.locator(`a[href="/sessions/history/${encodeURIComponent(session.id)}"]`);
    await expect.poll(() => link.count(), POLL).toBeGreaterThan(0);
    const historyRow = page.getByRole('row').filter({ has: link.first() });
    expect(await historyRow.locator('.badge.error', { hasText: 'Problems' }).count()).toBe(1);
    expect(await historyRow.locator('[data-severity="error"]', { hasText: '1 finding' }).count()).toBe(1);
    await link.first().click();

    const transcript = page.getByRole('region', { name: 'Transcript' });
    const card = transcript.getByRole('article', { name: `Diagnosis: ${TITLE}` });
    await card.waitFor();
    expect(await card.locator('.badge.error').innerText()).toBe('Problem');
    expect(await card.innerText()).toContain('no connection arrived');
    expect(await card.innerText()).toMatch(/Fix:\s+Ferry picks any free port/);

    // Placed right after its last evidence line (the engine's timeout), and the evidence lines are marked.
    const before = await card.evaluate((el) => {
      const row = el.closest('li');
      const prev = row?.previousElementSibling;
      return { cls: prev?.className ?? '', text: prev?.textContent ?? '' };
    });
    expect(before.cls).toContain('evidence');
    expect(before.text).toMatch(/did not connect to passive port \d+ within 1 s/);
    const marked = await transcript.locator('li.evidence').allInnerTexts();
    expect(marked.some((text) => /Command:\s+LIST/.test(text))).toBe(true);
    expect(await page.getByRole('status').filter({ hasText: 'found 1 error;' }).count()).toBe(1);
    await card.scrollIntoViewIfNeeded();
    await saveScreenshot(page, 'diagnosis-2-session-finding');
  });

  it('runs the connectivity self-test on the Get connected page', async () => {
    await page.goto(`${system.httpUrl}/connect`);
    await page.getByRole('heading', { name: 'Get connected', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Run self-test' }).click();
    const results = page.getByRole('list', { name: 'Self-test results' });
    await results.waitFor();
    const items = await results.getByRole('listitem').allInnerTexts();
    expect(items.find((t) => t.includes('Control port'))).toMatch(/^OK/);
    expect(items.find((t) => t.includes('Public address'))).toMatch(/^Failed[\s\S]*loopback[\s\S]*Fix:/);
    const rules = await page.getByRole('list', { name: 'Firewall rules' }).innerText();
    expect(rules).toContain(`TCP ${system.ftpPort}`);
    expect(rules).toContain('Passive data connections');
    await saveScreenshot(page, 'diagnosis-3-connect');
    expect(pageErrors).toEqual([]);
  });
});
