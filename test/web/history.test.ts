/**
 * History you can search and report on, in a real browser against a real Ferry process. Three real FTP sessions:
 * a long one (150 NOOPs, then an upload and a download of invoice-2291.pdf and a refused delete: a warning and
 * nothing worse), a short clean one, and a failed login as a user that does not exist. Then: a full-text search
 * finds the file name and highlights it, the hit leads to its transcript line, the Problems filter catches the
 * warning-only session, part of the failed user name in another case finds the failed login, the exports carry
 * what they should, no page is taller than its content, the charts draw the traffic, and the pages fit 390 px.
 * Screenshots: test/artifacts/history-*.png.
 */
import { readFile } from 'node:fs/promises';
import { Readable, Writable } from 'node:stream';
import { Client } from 'basic-ftp';
import { SELF_TEST_CLIENT, type HistoryItem } from '@ferry/contract';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Control, eventually } from '../diagnosis/support/doctor.js';
import { collectPageErrors, newPage, openDashboard, saveScreenshot } from '../support/browser.js';
import { startSystem, type System } from '../support/start-system.js';

const USER = 'hist-ivy';
const PASSWORD = 'ivy-ftp-password';
const GHOST = 'Ghost-Zed-77';
const FILE = 'invoice-2291.pdf';
const NOOPS = 150;
const SERVER_ZONE = 'Europe/Berlin';
const BROWSER_ZONE = 'America/New_York';
const POLL = { timeout: 15_000, interval: 200 };
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let system: System;
let browser: Browser;
let page: Page;
let pageErrors: string[];
/** The long session with the file and the refused delete; the short clean one; the failed login. */
let long: HistoryItem;
let clean: HistoryItem;
let failed: HistoryItem;

/** "2026-12-04 22:33:21" in `timeZone`. */
const wallTime = (at: number, timeZone: string) =>
  new Intl.DateTimeFormat('sv-SE', { timeZone, dateStyle: 'short', timeStyle: 'medium' }).format(at);

const nav = (p: Page, name: string) => p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name });
const row = (p: Page, id: string) => p.locator(`tr[data-session="${id}"]`);

async function history(query: string): Promise<HistoryItem[]> {
  const res = await system.api('GET', `/api/v1/sessions/history?limit=50&${query}`);
  if (res.status !== 200) throw new Error(`history ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.items as HistoryItem[];
}

async function ftpSessions(): Promise<void> {
  const ftp = new Client(10_000);
  await ftp.access({ host: '127.0.0.1', port: system.ftpPort, user: USER, password: PASSWORD });
  // Slower than the 200 commands a second that the server allows, so no rate-limit finding.
  for (let i = 0; i < NOOPS; i++) {
    await ftp.send('NOOP');
    await delay(6);
  }
  await ftp.uploadFrom(Readable.from([Buffer.from('%PDF-1.7 invoice 2291\n')]), FILE);
  await ftp.downloadTo(
    new Writable({
      write: (_chunk, _encoding, done) => done(),
    }),
    FILE,
  );
  await expect(ftp.remove(FILE)).rejects.toThrow(/550/);
  ftp.close();

  const short = new Client(10_000);
  await short.access({ host: '127.0.0.1', port: system.ftpPort, user: USER, password: PASSWORD });
  await short.pwd();
  short.close();

  const ghost = await Control.open(system.ftpPort);
  expect((await ghost.read()).code).toBe(220);
  await ghost.send(`USER ${GHOST}`, 331);
  await ghost.send('PASS not-a-password', 530);
  await ghost.send('QUIT', 221);
  ghost.close();
}

describe('history search, session page, reports', () => {
  beforeAll(async () => {
    // The server's clock runs in Berlin and the browser's in New York, so each zone setting shows its own.
    system = await startSystem({ env: { TZ: SERVER_ZONE } });
    // Everything but delete, so the DELE at the end is refused: a warning finding (permission-denied), nothing worse.
    const created = await system.api('POST', '/api/v1/users', {
      username: USER,
      password: PASSWORD,
      permissions: [{ path: '/', allow: ['list', 'download', 'upload', 'overwrite', 'rename', 'mkdir', 'rmdir'] }],
    });
    expect(created.status).toBe(201);
    await ftpSessions();
    // All three stored, ended, and the long one's finding recorded.
    [long, clean] = await eventually(async () => {
      const items = await history(`user=${USER}`);
      const ended = items.filter((s) => s.endedAt !== null);
      const found = ended.find((s) => s.findings > 0);
      const other = ended.find((s) => s.findings === 0);
      return found && other ? [found, other] : undefined;
    }, 'the two sessions of hist-ivy');
    failed = await eventually(async () => (await history(`user=${GHOST}`)).find((s) => s.endedAt !== null), 'the failed login');
    expect(long.worstSeverity).toBe('warning');
    expect(failed.unknownUser).toBe(true);

    ({ browser, page, pageErrors } = await openDashboard(system, { timezoneId: BROWSER_ZONE }));
  });

  afterAll(async () => {
    await browser?.close();
    await system?.stop();
  });

  it('finds a session by a file name in its transcript and highlights the words', async () => {
    await nav(page, 'History').click();
    await page.getByRole('heading', { name: 'History', level: 1 }).waitFor();
    await page.getByLabel('Search transcripts').fill(FILE);
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.url(), POLL).toContain(`?q=${FILE}`);
    await expect.poll(() => page.locator('tr[data-session]').count(), POLL).toBe(1);
    expect(await row(page, long.id).count()).toBe(1);

    const hits = page.getByRole('list', { name: 'Matching lines of this session' });
    const first = hits.getByRole('link').first();
    expect(await first.innerText()).toMatch(new RegExp(`^line \\d+\\s+STOR ${FILE.replaceAll('.', '\\.')}$`));
    // The server marks the tokens of the search: invoice, 2291 and pdf, each in its own <mark>.
    expect(await first.locator('mark').allInnerTexts()).toEqual(['invoice', '2291', 'pdf']);
    // Both times: the absolute one (date, seconds, zone) and how long ago.
    const started = await row(page, long.id).locator('td').first().innerText();
    // In the server's zone (Berlin, GMT+1 in winter), whatever the browser's.
    expect(started).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} GMT\+[12]\s+(just now|\d+s ago|\d+m \d+s ago)$/);
    expect(started.split(/\s+/).slice(0, 2).join(' ')).toBe(wallTime(long.startedAt, SERVER_ZONE));
    await saveScreenshot(page, 'history-1-search');

    // The CSV link carries the same filter and answers with this session only.
    const csvHref = await page.getByRole('link', { name: /Download CSV/ }).getAttribute('href');
    expect(csvHref).toBe(`/api/v1/sessions/history.csv?q=${FILE}`);
    const csv = await page.evaluate((href) => fetch(href).then(async (r) => `${r.status}\n${await r.text()}`), csvHref!);
    const csvLines = csv.trim().split(/\r?\n/);
    expect(csvLines[0]).toBe('200');
    expect(csvLines.length).toBe(3);
    expect(csvLines[2]).toContain(long.id);
  });

  it('follows a hit to its line: scrolled into view and highlighted', async () => {
    const first = page.getByRole('list', { name: 'Matching lines of this session' }).getByRole('link').first();
    const seq = Number(/^line (\d+)/.exec(await first.innerText())?.[1]);
    expect(seq).toBeGreaterThan(2 * NOOPS);
    await first.click();
    await expect.poll(() => page.url(), POLL).toBe(`${system.httpUrl}/sessions/history/${encodeURIComponent(long.id)}?line=${seq}`);
    const line = page.locator(`#line-${seq}`);
    await line.waitFor();
    expect(await line.getAttribute('aria-current')).toBe('location');
    expect(await line.innerText()).toMatch(new RegExp(`^${seq}\\s+\\d{2}:\\d{2}:\\d{2}\\.\\d{3}\\s+Command:\\s+STOR ${FILE}`));
    expect(await page.locator('li[aria-current="location"]').count()).toBe(1);
    // The log scrolled to the line, and the line is inside the visible part of the log and of the window.
    await expect
      .poll(
        () =>
          line.evaluate((el) => {
            const log = el.closest('.log')!;
            const box = el.getBoundingClientRect();
            const frame = log.getBoundingClientRect();
            return log.scrollTop > 0 && box.top >= frame.top && box.bottom <= frame.bottom && box.bottom <= window.innerHeight;
          }),
        POLL,
      )
      .toBe(true);
    await saveScreenshot(page, 'history-2-hit-line');
  });

  it('links the finding banner and the evidence to their lines, and the page is no taller than its content', async () => {
    const banner = page.getByRole('status').filter({ hasText: 'found 1 warning;' });
    expect(await banner.count()).toBe(1);
    const jump = banner.getByRole('link', { name: /Go to the first evidence \(line \d+\)/ });
    const evidence = Number(/line (\d+)/.exec(await jump.innerText())?.[1]);
    await jump.click();
    await expect.poll(() => page.url(), POLL).toMatch(new RegExp(`\\?line=${evidence}$`));
    expect(await page.locator(`#line-${evidence}`).getAttribute('aria-current')).toBe('location');
    expect(await page.locator(`#line-${evidence}`).innerText()).toMatch(/Permission denied: delete on \/invoice-2291\.pdf/);
    const card = page.getByRole('article', { name: /^Diagnosis: Permission denied/ });
    expect(await card.getByRole('link', { name: `Go to line ${evidence}` }).count()).toBeGreaterThan(0);

    const lines = await page.locator('.log li.line').count();
    expect(lines).toBeGreaterThan(2 * NOOPS);
    await page.evaluate(() => window.scrollTo(0, 0));
    const size = await page.evaluate(() => {
      const content = document.querySelector('main .content')!.getBoundingClientRect();
      return {
        scrollHeight: document.scrollingElement!.scrollHeight,
        contentBottom: Math.ceil(content.bottom + window.scrollY),
        viewport: window.innerHeight,
      };
    });
    expect(size.scrollHeight).toBeLessThanOrEqual(Math.max(size.contentBottom, size.viewport) + 2);
    await saveScreenshot(page, 'history-3-session');
  });

  it('exports the transcript as text with its header and as JSON', async () => {
    const txtHref = await page.getByRole('link', { name: 'Download transcript (.txt)' }).getAttribute('href');
    const text = await page.evaluate((href) => fetch(href!).then((r) => r.text()), txtHref);
    expect(text.split('\n')[0]).toMatch(/^Server:\s+\S+/);
    expect(text).toMatch(new RegExp(`^Session:\\s+${long.id}$`, 'm'));
    expect(text).toMatch(new RegExp(`^User:\\s+${USER}$`, 'm'));
    expect(text).toContain(`STOR ${FILE}`);
    const jsonHref = await page.getByRole('link', { name: 'Export (.json)' }).getAttribute('href');
    const json = await page.evaluate((href) => fetch(href!).then((r) => r.json()), jsonHref);
    expect(json.session.id).toBe(long.id);
    expect(json.transcript.length).toBe(await page.locator('.log li.line').count());
    expect(json.findings.map((f: { severity: string }) => f.severity)).toEqual(['warning']);
  });

  it('catches the warning-only session with the Problems filter', async () => {
    await page.goto(`${system.httpUrl}/sessions/history`);
    await page.getByLabel('Findings').selectOption({ label: 'Problems (warnings and errors)' });
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.url(), POLL).toContain('?severity=warning');
    // The failed login's unknown user is a warning too; the clean session is not there.
    const ids = () => page.locator('tr[data-session]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-session')).sort());
    await expect.poll(ids, POLL).toEqual([long.id, failed.id].sort());
    expect(await row(page, clean.id).count()).toBe(0);
    expect(await row(page, long.id).locator('[data-severity="warning"]').innerText()).toMatch(/1 finding/);
    await saveScreenshot(page, 'history-4-problems');
  });

  it('finds a failed login by part of the attempted user name in another case', async () => {
    await page.goto(`${system.httpUrl}/sessions/history`);
    await page.getByLabel('User').fill('zED-7');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.url(), POLL).toContain('?user=zED-7');
    await expect.poll(() => page.locator('tr[data-session]').count(), POLL).toBe(1);
    const found = row(page, failed.id);
    const user = await found.locator('td[data-label="User"]').innerText();
    expect(user).toMatch(new RegExp(`^${GHOST}\\s+\\(attempted\\)\\s+unknown user$`));
    expect(await found.locator('.badge', { hasText: 'Login failed' }).count()).toBe(1);
    await saveScreenshot(page, 'history-5-failed-login');

    // Back and forward step through searches.
    await page.goBack();
    await expect.poll(() => page.url(), POLL).toBe(`${system.httpUrl}/sessions/history`);
    await expect.poll(() => page.locator('tr[data-session]').count(), POLL).toBe(3);
    expect(await page.getByLabel('User').inputValue()).toBe('');
    await page.goForward();
    await expect.poll(() => page.locator('tr[data-session]').count(), POLL).toBe(1);
    expect(await page.getByLabel('User').inputValue()).toBe('zED-7');

    // The link can be shared: opening it shows the same search.
    await page.goto(`${system.httpUrl}/sessions/history?user=zED-7`);
    await expect.poll(() => page.locator('tr[data-session]').count(), POLL).toBe(1);
    expect(await page.getByLabel('User').inputValue()).toBe('zED-7');
  });

  it('draws the traffic on the Overview and totals it per user and per day on Reports', async () => {
    await nav(page, 'Overview').click();
    const hourly = page.locator('svg[data-chart="hour"]');
    await hourly.waitFor();
    const bars = await hourly
      .locator('rect.bar')
      .evaluateAll((rects) => rects.map((r) => ({ series: r.getAttribute('data-series'), height: Number(r.getAttribute('height')) })));
    expect(bars.filter((b) => b.series === 'sessions').length).toBeGreaterThan(0);
    expect(bars.some((b) => b.series === 'uploads')).toBe(true);
    expect(bars.some((b) => b.series === 'downloads')).toBe(true);
    expect(bars.some((b) => b.series === 'failedLogins')).toBe(true);
    expect(bars.every((b) => b.height > 0)).toBe(true);
    expect(await hourly.getAttribute('aria-labelledby')).toBeTruthy();
    expect(await page.getByRole('img', { name: /^Traffic per hour, last 24 hours/ }).count()).toBe(1);
    await saveScreenshot(page, 'history-6-overview-chart');
    await page.getByRole('button', { name: 'Last 30 days' }).click();
    await expect.poll(() => page.locator('svg[data-chart="day"] rect.bar[data-series="sessions"]').count(), POLL).toBe(1);

    await nav(page, 'Reports').click();
    await page.getByRole('heading', { name: 'Reports', level: 1 }).waitFor();
    const perUser = page.getByRole('table', { name: 'Traffic per user' });
    const ivy = perUser.getByRole('row').filter({ has: page.getByRole('link', { name: USER }) });
    await expect.poll(() => ivy.count(), POLL).toBe(1);
    expect((await ivy.locator('td').allInnerTexts()).slice(0, 5)).toEqual([USER, '2', '0', '1', '1']);
    expect(await page.locator('svg[data-chart="day"] rect.bar').count()).toBeGreaterThan(0);
    await saveScreenshot(page, 'history-7-reports');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      perUser.locator('xpath=ancestor::section').getByRole('button', { name: 'Download CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('ferry-traffic-by-user.csv');
    const csv = await readFile((await download.path())!, 'utf8');
    const [header, ...rows] = csv.trim().split('\r\n');
    expect(header).toBe('User,Sessions,Failed logins,Uploads,Downloads,Bytes in,Bytes out');
    expect(rows).toContain(`${USER},2,0,1,1,22,22`);
  });

  it("shows times in the browser's zone when the setting says so", async () => {
    const setZone = async (displayTimeZone: 'server' | 'browser') =>
      expect((await system.api('PATCH', '/api/v1/settings', { displayTimeZone })).status).toBe(200);
    await setZone('browser');
    try {
      await page.goto(`${system.httpUrl}/sessions/history?user=${USER}`);
      const started = row(page, long.id).locator('a.when');
      await started.waitFor();
      expect(await started.innerText()).toBe(`${wallTime(long.startedAt, BROWSER_ZONE)} EST`);
    } finally {
      await setZone('server');
    }
    await page.reload();
    await expect.poll(() => row(page, long.id).locator('a.when').innerText(), POLL).toMatch(/ GMT\+[12]$/);
  });

  it('labels the sessions of the connectivity self-test', async () => {
    expect((await system.api('GET', '/api/v1/connectivity')).status).toBe(200);
    const selfTest = await eventually(
      async () => (await history('')).find((s) => s.clientSoftware === SELF_TEST_CLIENT && s.endedAt !== null),
      'the self-test session',
    );
    await page.goto(`${system.httpUrl}/sessions/history`);
    await expect.poll(() => row(page, selfTest.id).locator('.badge', { hasText: 'self-test' }).count(), POLL).toBe(1);
    expect(await row(page, long.id).locator('.badge', { hasText: 'self-test' }).count()).toBe(0);
  });

  it('fits a 390 px phone: no sideways page scroll on History, the session page, Overview and Reports', async () => {
    const phone = await newPage(browser, { viewport: { width: 390, height: 844 }, storageState: await page.context().storageState() });
    const phoneErrors = collectPageErrors(phone);
    const pages = [
      { url: `/sessions/history?q=${FILE}`, name: 'history-8-phone-history', ready: phone.locator('mark').first() },
      {
        url: `/sessions/history/${encodeURIComponent(long.id)}?line=5`,
        name: 'history-9-phone-session',
        ready: phone.locator('#line-5'),
      },
      { url: '/', name: 'history-10-phone-overview', ready: phone.locator('svg[data-chart="hour"]') },
      { url: '/reports', name: 'history-11-phone-reports', ready: phone.getByRole('table', { name: 'Traffic per user' }) },
    ];
    for (const { url, name, ready } of pages) {
      await phone.goto(`${system.httpUrl}${url}`);
      await ready.waitFor().catch(async (error: unknown) => {
        await saveScreenshot(phone, `${name}-failed`);
        throw error;
      });
      const width = await phone.evaluate(() => ({
        scroll: document.scrollingElement!.scrollWidth,
        client: document.scrollingElement!.clientWidth,
      }));
      expect(width.scroll, `${url} scrolls sideways`).toBeLessThanOrEqual(width.client);
      await saveScreenshot(phone, name);
    }
    // History rows are cards at this width: each value carries its label.
    await phone.goto(`${system.httpUrl}/sessions/history?q=${FILE}`);
    const cell = phone.locator(`tr[data-session="${long.id}"] td[data-label="Client"]`);
    expect(await cell.evaluate((td) => getComputedStyle(td, '::before').content)).toBe('"Client"');
    await phone.close();
    expect(phoneErrors).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
