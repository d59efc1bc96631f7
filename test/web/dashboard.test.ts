/**
 * The admin dashboard in a real browser against a real Ferry process: sign in, create a user through the form,
 * watch that user's FTP session appear and its transcript stream in without reloading, disconnect it, find it in
 * History and download its transcript. Full-page screenshots of every page land in test/artifacts/.
 */
import { readFile } from 'node:fs/promises';
import { SETTING_NAMES } from '@ferry/contract';
import { Client } from 'basic-ftp';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newPage, openDashboard, saveScreenshot } from '../support/browser.js';
import { startSystem, type System } from '../support/start-system.js';

const FTP_USER = 'e2e-dana';
const FTP_PASSWORD = 'dana-secret-42';
const POLL = { timeout: 15_000, interval: 200 };

let system: System;
let browser: Browser;
let page: Page;
let pageErrors: string[];
let ftp: Client | null = null;
let sessionId = '';

const transcriptText = () =>
  page
    .getByRole('region', { name: 'Live transcript' })
    .innerText()
    .catch(() => '');
const nav = (name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name });

describe('admin dashboard', () => {
  beforeAll(async () => {
    system = await startSystem();
    ({ browser, page, pageErrors } = await openDashboard(system, { signedIn: false }));
  });

  afterAll(async () => {
    ftp?.close();
    await browser?.close();
    await system?.stop();
  });

  it('signs in, rejecting a wrong password first', async () => {
    await page.goto(`${system.httpUrl}/`);
    await page.getByRole('heading', { name: 'Sign in to Ferry' }).waitFor();
    await saveScreenshot(page, '01-sign-in');

    await page.getByLabel('Username').fill(system.adminUser);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').innerText(), POLL).toContain('Wrong username or password');
    await saveScreenshot(page, '02-sign-in-error');

    await page.getByLabel('Password').fill(system.adminPassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    await expect.poll(() => page.getByText('Control port').isVisible(), POLL).toBe(true);
    await saveScreenshot(page, '03-overview');
  });

  it('creates an FTP user through the form and shows API field errors beside the field', async () => {
    await nav('Users').click();
    await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
    await page.getByRole('link', { name: '+ New user' }).click();
    await page.getByRole('heading', { name: 'New user', level: 1 }).waitFor();

    // The form's own check: a short password is refused before anything is sent.
    await page.getByLabel('Username').fill(FTP_USER);
    await page.getByLabel('Password').fill('short');
    await page.getByRole('button', { name: 'Create user' }).click();
    await expect.poll(() => page.locator('#user-password-error').innerText(), POLL).toContain('at least 8');

    await page.getByLabel('Password').fill(FTP_PASSWORD);
    await page.getByLabel('Storage quota').fill('2 GB');
    await page.getByRole('button', { name: '+ Add folder rule' }).click();
    await page.getByLabel('Folder of rule 2').fill('/incoming');
    await page.getByLabel('Upload in /incoming').check({ force: true });
    await saveScreenshot(page, '04-user-new');
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.getByRole('heading', { name: FTP_USER, level: 1 }).waitFor();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'User created' }).count(), POLL).toBe(1);
    await saveScreenshot(page, '05-user-edit');

    const stored = await system.api('GET', `/api/v1/users/${FTP_USER}`);
    expect(stored.status).toBe(200);
    expect(stored.body.quotaBytes).toBe(2 * 1024 ** 3);
    expect(stored.body.permissions).toEqual(
      expect.arrayContaining([{ path: '/incoming', allow: expect.arrayContaining(['list', 'upload']) }]),
    );

    // The server's error for an existing username is shown beside the username field.
    await page.getByRole('link', { name: '← Users' }).click();
    await page.getByRole('link', { name: '+ New user' }).click();
    await page.getByLabel('Username').fill(FTP_USER);
    await page.getByLabel('Password').fill(FTP_PASSWORD);
    await page.getByRole('button', { name: 'Create user' }).click();
    await expect
      .poll(
        () =>
          page
            .locator('#user-username-error')
            .innerText()
            .catch(() => ''),
        POLL,
      )
      .toMatch(/exists/i);
    expect(await page.getByLabel('Username').getAttribute('aria-invalid')).toBe('true');
    await saveScreenshot(page, '06-user-duplicate');

    // The refused form still holds what was typed: leaving asks first.
    await nav('Users').click();
    await page.getByRole('dialog', { name: 'Leave without saving?' }).getByRole('button', { name: 'Leave page' }).click();
    await expect.poll(() => page.getByRole('link', { name: FTP_USER }).count(), POLL).toBe(1);
    await saveScreenshot(page, '07-users');
  });

  it('shows the FTP session live and streams its transcript', async () => {
    await nav('Live sessions').click();
    await page.getByRole('heading', { name: 'Live sessions', level: 1 }).waitFor();
    await saveScreenshot(page, '08-live-empty');

    ftp = new Client(10_000);
    await ftp.access({ host: '127.0.0.1', port: system.ftpPort, user: FTP_USER, password: FTP_PASSWORD });
    ftp.availableListCommands = ['LIST']; // basic-ftp would prefer MLSD

    // Appears without a reload, over the WebSocket.
    const row = page.getByRole('link', { name: FTP_USER });
    await expect.poll(() => row.count(), POLL).toBe(1);
    await row.click();
    await expect.poll(() => page.url(), POLL).toMatch(/\/sessions\/live\/[^/]+$/);
    sessionId = decodeURIComponent(page.url().split('/').pop() ?? '');
    await expect.poll(transcriptText, POLL).toContain(`USER ${FTP_USER}`);
    expect(await transcriptText()).toContain('PASS ****');
    // Nothing said between the login and opening the page is missing (backlog and stream are stitched together).
    await expect.poll(transcriptText, POLL).toMatch(/Response:\s+230/);
    await expect.poll(transcriptText, POLL).toMatch(/Command:\s+FEAT/);
    expect(await transcriptText()).not.toContain(FTP_PASSWORD);

    // LIST after the transcript is open: these lines can only arrive by streaming.
    await ftp.list('/');
    await expect.poll(transcriptText, POLL).toMatch(/Command:\s+LIST/);
    await expect.poll(transcriptText, POLL).toMatch(/Response:\s+150/);
    await expect.poll(transcriptText, POLL).toMatch(/Response:\s+226/);
    expect(await page.getByRole('status').filter({ hasText: 'Streaming live' }).count()).toBe(1);
    await saveScreenshot(page, '09-live-transcript');

    const pause = page.getByRole('button', { name: 'Pause auto-scroll' });
    expect(await pause.getAttribute('aria-pressed')).toBe('false');
    await pause.click();
    expect(await pause.getAttribute('aria-pressed')).toBe('true');
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Auto-scroll paused' }).count(), POLL).toBe(1);
  });

  it('disconnects the session from the dashboard', async () => {
    await page.getByRole('button', { name: 'Disconnect…' }).click();
    await page
      .getByRole('dialog', { name: `Disconnect ${FTP_USER}?` })
      .getByRole('button', { name: 'Disconnect' })
      .click();
    const client = ftp!;
    await expect
      .poll(async () => {
        if (client.closed) return 'dropped';
        try {
          await client.send('NOOP');
          return 'alive';
        } catch {
          return 'dropped';
        }
      }, POLL)
      .toBe('dropped');
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Session ended' }).count(), POLL).toBe(1);
    await expect.poll(() => page.getByRole('table').getByRole('link', { name: FTP_USER }).count(), POLL).toBe(0);
    await saveScreenshot(page, '10-live-ended');
  });

  it('finds the session in History and downloads its transcript', async () => {
    await nav('History').click();
    await page.getByRole('heading', { name: 'History', level: 1 }).waitFor();
    await page.getByLabel('User', { exact: true }).fill(FTP_USER);
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.url(), POLL).toContain(`user=${FTP_USER}`);
    const link = page.locator(`a[href="/sessions/history/${encodeURIComponent(sessionId)}"]`);
    await expect.poll(() => link.count(), POLL).toBe(1);
    await saveScreenshot(page, '11-history');

    await link.click();
    await page.getByRole('region', { name: 'Stored transcript' }).waitFor();
    expect(await page.getByRole('region', { name: 'Stored transcript' }).innerText()).toContain(`USER ${FTP_USER}`);
    await saveScreenshot(page, '12-history-session');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download transcript (.txt)' }).click(),
    ]);
    const text = await readFile((await download.path())!, 'utf8');
    expect(text).toContain(`USER ${FTP_USER}`);
    expect(text).toContain('PASS ****');
    expect(text).toMatch(/LIST/);
    expect(text).toMatch(/\b226\b/);
    expect(text).not.toContain(FTP_PASSWORD);

    // A deep link opens the same page directly (the server answers with the app).
    await page.goto(`${system.httpUrl}/sessions/history/${encodeURIComponent(sessionId)}`);
    await page.getByRole('region', { name: 'Stored transcript' }).waitFor();
  });

  it('previews the 227 reply in Settings and shows the other admin pages', async () => {
    await nav('Settings').click();
    await page.getByRole('heading', { name: 'Network and passive mode' }).waitFor();
    await page.getByLabel('Client address', { exact: true }).fill('127.0.0.1');
    await page.getByRole('button', { name: 'Preview' }).click();
    await expect
      .poll(
        () =>
          page
            .locator('pre.reply')
            .innerText()
            .catch(() => ''),
        POLL,
      )
      .toMatch(/^227 /);
    // The generated FTPS certificate: its validity is shown (five years, so no warning).
    const expiry = page.getByTestId('certificate-expiry');
    await expect.poll(() => expiry.innerText().catch(() => ''), POLL).toMatch(/\d/);
    expect(await expiry.innerText()).not.toMatch(/expire/);
    await saveScreenshot(page, '13-settings');
    // Every setting is labelled by its one name (the README and the doctor use the same), within its section.
    const shown = await page.locator('form[aria-label="Server settings"]').evaluate((form) =>
      [...form.querySelectorAll('section')].map((section) => ({
        section: section.querySelector('h2')?.textContent?.trim() ?? '',
        labels: [...section.querySelectorAll('label, h3')].map((el) => el.textContent?.trim() ?? ''),
      })),
    );
    for (const name of Object.values(SETTING_NAMES)) {
      const [section, label] = name.includes(' › ') ? name.split(' › ') : [null, name];
      const where = shown.filter((s) => section === null || s.section === section);
      expect(
        where.some((s) => s.labels.includes(label!)),
        name,
      ).toBe(true);
    }

    const tab = (name: string) => page.getByRole('navigation', { name: 'Settings sections' }).getByRole('link', { name }).click();
    await tab('Bans');
    await page.getByRole('heading', { name: 'Banned addresses' }).waitFor();
    await saveScreenshot(page, '14-bans');
    await tab('Audit log');
    await expect
      .poll(
        () =>
          page
            .getByRole('table')
            .innerText()
            .catch(() => ''),
        POLL,
      )
      .toContain('user.create');
    await saveScreenshot(page, '15-audit');
    await tab('API tokens');
    await page.getByRole('heading', { name: 'New API token' }).waitFor();
    await saveScreenshot(page, '16-tokens');

    await nav('Get connected').click();
    await page.getByRole('heading', { name: 'Firewall and router' }).waitFor();
    await saveScreenshot(page, '17-connect');
  });

  it('works at phone width and in dark mode', async () => {
    const phone = await newPage(browser, {
      viewport: { width: 390, height: 844 },
      colorScheme: 'dark',
      storageState: await page.context().storageState(),
    });
    await phone.goto(`${system.httpUrl}/users`);
    await phone.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
    const menu = phone.getByRole('button', { name: 'Menu' });
    expect(await menu.getAttribute('aria-expanded')).toBe('false');
    expect(await phone.getByRole('navigation', { name: 'Main' }).isVisible()).toBe(false);
    await saveScreenshot(phone, '18-phone-users-dark');
    // Every list is usable at 390 px: rows stack into labelled cards, nothing scrolls sideways.
    const sideways = () =>
      phone.evaluate(() => [...document.querySelectorAll('.table-wrap, html')].some((el) => el.scrollWidth > el.clientWidth + 1));
    expect(await phone.locator('table.data tbody tr').first().locator('td[data-label="Home folder"]').isVisible()).toBe(true);
    expect(await sideways()).toBe(false);
    for (const [route, heading] of [
      ['/settings/bans', 'Banned addresses'],
      ['/settings/audit', 'Audit log'],
      ['/settings/tokens', 'Tokens'],
    ] as const) {
      await phone.goto(`${system.httpUrl}${route}`);
      await phone.getByRole('heading', { name: heading }).waitFor();
      await phone.locator('.table-wrap, .state').first().waitFor();
      expect(await sideways(), route).toBe(false);
    }
    await saveScreenshot(phone, '18b-phone-audit-dark');
    await phone.goto(`${system.httpUrl}/users`);
    await phone.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
    await menu.click();
    await phone.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'History' }).click();
    await phone.getByRole('heading', { name: 'History', level: 1 }).waitFor();
    await saveScreenshot(phone, '19-phone-history-dark');
    await phone.context().close();
  });

  it('signs out, and produced no script errors', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Ferry' }).waitFor();
    expect(pageErrors).toEqual([]);
  });
});
