/**
 * Team administration in a real browser against a real Ferry process: the owner adds an operator on the Admins
 * page; the operator sets up two-factor sign-in on the Account page (the code computed from the secret the page
 * shows), signs in again with password and code, sees a live FTP session, cannot edit FTP users (the editor says
 * so, and the API answers 403), and disconnects the session; the owner's audit log then shows both admins' actions.
 * Last, the owner sets up their own two-factor sign-in and requires it of everyone: a new viewer then sees only the
 * set-up until it is done, and afterwards a dashboard without controls that change anything.
 */
import { readFile } from 'node:fs/promises';
import { Client } from 'basic-ftp';
import { Secret, TOTP } from 'otpauth';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectPageErrors, newPage, openDashboard, saveScreenshot } from '../support/browser.js';
import { startSystem, type System } from '../support/start-system.js';

const OPERATOR = 'olga-operator';
const VIEWER = 'vera-viewer';
const VIEWER_PASSWORD = 'Vera-reads-only-7';
const FTP_USER = 'team-tom';
const FTP_PASSWORD = 'tom-secret-42';
const POLL = { timeout: 15_000, interval: 200 };
const STEP_MS = 30_000;

let system: System;
let browser: Browser;
/** The owner: the system's first admin. */
let owner: Page;
let ownerErrors: string[];
/** The operator, in a browser context of their own. */
let operator: Page;
let operatorErrors: string[];
let operatorPassword = '';
let secret = '';
/** The 30-second step whose code turned two-factor sign-in on: the server refuses it a second time. */
let usedStep = 0;
/** The operator's recovery codes, as the page showed them once. */
let recoveryCodes: string[] = [];
let ftp: Client | null = null;

/** A main navigation link by its label (Live sessions carries a count after it). */
const nav = (page: Page, name: string) =>
  page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: new RegExp(`^${name}( \\d+ connected)?$`) });
const codeFor = (step: number) => TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: step * STEP_MS + 1_000 });

async function ftpSessionIds(): Promise<string[]> {
  const res = await system.api('GET', '/api/v1/sessions');
  expect(res.status).toBe(200);
  return (res.body.items as { id: string; username: string | null }[]).filter((s) => s.username === FTP_USER).map((s) => s.id);
}

describe('team administration', () => {
  beforeAll(async () => {
    // Every admin here signs in several times within a minute: more than the default 10 attempts per address.
    system = await startSystem({ env: { FERRY_LOGIN_RATE_LIMIT: '100' } });
    const created = await system.api('POST', '/api/v1/users', { username: FTP_USER, password: FTP_PASSWORD });
    expect(created.status).toBe(201);
    ({ browser, page: owner, pageErrors: ownerErrors } = await openDashboard(system));
    operator = await newPage(browser);
    operatorErrors = collectPageErrors(operator);
  });

  afterAll(async () => {
    ftp?.close();
    await browser?.close();
    await system?.stop();
  });

  it('lets the owner add an operator, with a generated password shown once', async () => {
    await nav(owner, 'Admins').click();
    await owner.getByRole('heading', { name: 'Admins', level: 1 }).waitFor();
    const form = owner.getByRole('form', { name: 'Add an admin' });
    await form.getByLabel('Name').fill(OPERATOR);
    await form.getByRole('radio', { name: /^Operator/ }).check();
    await form.getByRole('button', { name: 'Add admin' }).click();
    const generated = owner.getByTestId('generated-password');
    await generated.waitFor();
    operatorPassword = (await generated.innerText()).trim();
    expect(operatorPassword).toMatch(/^[A-Za-z0-9_-]{24}$/);

    const row = owner.getByRole('row').filter({ hasText: OPERATOR });
    await expect.poll(() => row.count(), POLL).toBe(1);
    expect(await row.locator('td[data-label="Role"]').innerText()).toBe('Operator');
    expect(await row.locator('td[data-label="Two-factor"]').innerText()).toBe('Off');
    await saveScreenshot(owner, 'team-1-admins-added');
  });

  it('lets the operator set up two-factor sign-in on the Account page', async () => {
    await operator.goto(`${system.httpUrl}/`);
    await operator.getByLabel('Username').fill(OPERATOR);
    await operator.getByLabel('Password').fill(operatorPassword);
    await operator.getByRole('button', { name: 'Sign in' }).click();
    await operator.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    // An operator's navigation has no Admins; Settings has no audit log or API tokens.
    expect(await nav(operator, 'Admins').count()).toBe(0);
    await nav(operator, 'Settings').click();
    await operator.getByRole('heading', { name: 'Security' }).waitFor();
    const tabs = operator.getByRole('navigation', { name: 'Settings sections' });
    expect(await tabs.getByRole('link').allInnerTexts()).toEqual(['Server', 'Bans']);
    expect(await operator.getByRole('button', { name: 'Save settings' }).count()).toBe(0);
    expect(await operator.getByLabel('Welcome banner').isDisabled()).toBe(true);

    await operator.getByRole('link', { name: `Account: ${OPERATOR}` }).click();
    await operator.getByRole('heading', { name: 'Account', level: 1 }).waitFor();
    await operator.getByRole('button', { name: 'Set up two-factor sign-in' }).click();
    const secretText = operator.getByTestId('totp-secret');
    await secretText.waitFor();
    secret = (await secretText.innerText()).trim();
    expect(secret).toMatch(/^[A-Z2-7]+=*$/);
    const qr = operator.getByRole('img', { name: 'QR code for the authenticator app' });
    await expect.poll(() => qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0), POLL).toBe(true);
    await saveScreenshot(operator, 'team-2-two-factor-setup');

    usedStep = Math.floor(Date.now() / STEP_MS);
    await operator.getByLabel('Code from the app').fill(codeFor(usedStep));
    await operator.getByRole('button', { name: 'Turn on two-factor sign-in' }).click();
    const codes = operator.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem');
    await expect.poll(() => codes.count(), POLL).toBe(10);
    const shown = await codes.allInnerTexts();
    recoveryCodes = shown.map((code) => code.trim());
    const download = operator.waitForEvent('download');
    await operator.getByRole('link', { name: 'Download as text' }).click();
    const file = await readFile((await (await download).path())!, 'utf8');
    expect(file).toContain(`Ferry recovery codes for ${OPERATOR}`);
    for (const code of shown) expect(file).toContain(code);
    await saveScreenshot(operator, 'team-3-recovery-codes');

    await operator.getByRole('button', { name: 'I have saved them' }).click();
    await expect.poll(() => operator.getByText('10 recovery codes left').count(), POLL).toBe(1);
  });

  it('signs the operator out and in again with the password and a code, after one wrong code', async () => {
    await operator.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Sign out', exact: true }).click();
    await operator.getByRole('heading', { name: 'Sign in to Ferry' }).waitFor();
    await operator.getByLabel('Username').fill(OPERATOR);
    await operator.getByLabel('Password').fill(operatorPassword);
    await operator.getByRole('button', { name: 'Sign in' }).click();
    const code = operator.getByLabel('Authentication code');
    await code.waitFor();
    expect(await code.getAttribute('autocomplete')).toBe('one-time-code');
    expect(await code.getAttribute('inputmode')).toBe('numeric');

    // A wrong code: the page says how many tries are left.
    const now = Math.floor(Date.now() / STEP_MS);
    const valid = new Set([now - 1, now, now + 1].map(codeFor));
    const wrong = ['000000', '111111', '222222'].find((c) => !valid.has(c))!;
    await code.fill(wrong);
    await operator.getByRole('button', { name: 'Verify and sign in' }).click();
    await expect.poll(() => operator.getByRole('alert').innerText(), POLL).toContain('4 tries left');
    await saveScreenshot(operator, 'team-4-sign-in-code');

    // The step after the one that turned it on (the server accepts one step early; the used one never again).
    await code.fill(codeFor(usedStep + 1));
    await operator.getByRole('button', { name: 'Verify and sign in' }).click();
    // Back on the page the operator signed out from, now showing two-factor sign-in as on.
    await operator.getByRole('heading', { name: 'Account', level: 1 }).waitFor();
    await operator.getByText('10 recovery codes left').waitFor();
  });

  it('shows the operator a live FTP session but no user editing: the editor says so and the API answers 403', async () => {
    ftp = new Client(20_000);
    await ftp.access({ host: '127.0.0.1', port: system.ftpPort, user: FTP_USER, password: FTP_PASSWORD });
    await expect.poll(() => ftpSessionIds(), POLL).toHaveLength(1);

    await nav(operator, 'Users').click();
    await operator.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
    await operator.getByRole('cell', { name: FTP_USER, exact: true }).waitFor();
    expect(await operator.getByRole('link', { name: FTP_USER, exact: true }).count()).toBe(0);
    expect(await operator.getByRole('link', { name: '+ New user' }).count()).toBe(0);

    await operator.goto(`${system.httpUrl}/users/${FTP_USER}`);
    await operator.getByText('Editing FTP users needs the admin role').waitFor();
    expect(await operator.getByRole('button', { name: 'Save changes' }).count()).toBe(0);
    await saveScreenshot(operator, 'team-5-user-editor-forbidden');
    const reply = await operator.evaluate(async (username) => {
      const me = await (await fetch('/api/v1/auth/me')).json();
      const res = await fetch(`/api/v1/users/${username}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrfToken },
        body: JSON.stringify({ enabled: false }),
      });
      return { status: res.status, body: await res.json() };
    }, FTP_USER);
    expect(reply).toMatchObject({ status: 403, body: { error: { code: 'APP_FORBIDDEN_ROLE' } } });
    expect((await system.api('GET', `/api/v1/users/${FTP_USER}`)).body.enabled).toBe(true);
  });

  it('lets the operator disconnect the session', async () => {
    await nav(operator, 'Live sessions').click();
    const row = operator.getByRole('row').filter({ has: operator.getByRole('link', { name: FTP_USER }) });
    await expect.poll(() => row.count(), POLL).toBe(1);
    await row.getByRole('link', { name: FTP_USER }).click();
    await operator.getByRole('button', { name: 'Disconnect…' }).click();
    const dialog = operator.getByRole('dialog', { name: `Disconnect ${FTP_USER}?` });
    await dialog.getByRole('button', { name: 'Disconnect' }).click();
    await expect.poll(() => ftpSessionIds(), POLL).toEqual([]);
    await saveScreenshot(operator, 'team-6-disconnected');
    ftp?.close();
    ftp = null;
  });

  it('signs the operator in with a recovery code instead, and says how many are left', async () => {
    await operator.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Sign out', exact: true }).click();
    await operator.getByLabel('Username').fill(OPERATOR);
    await operator.getByLabel('Password').fill(operatorPassword);
    await operator.getByRole('button', { name: 'Sign in' }).click();
    await operator.getByRole('button', { name: 'Use a recovery code instead' }).click();
    await operator.getByLabel('Recovery code').fill(recoveryCodes[0]!);
    await operator.getByRole('button', { name: 'Verify and sign in' }).click();
    await expect.poll(() => operator.getByRole('status').filter({ hasText: 'You signed in with a recovery code' }).count(), POLL).toBe(1);
    expect(await operator.getByRole('status').filter({ hasText: 'recovery code' }).first().innerText()).toContain('9 codes are left');
    await saveScreenshot(operator, 'team-6b-recovery-code-used');
  });

  it('lets the owner make an API token with a lower role and the proposed 90-day expiry', async () => {
    await nav(owner, 'Settings').click();
    await owner.getByRole('navigation', { name: 'Settings sections' }).getByRole('link', { name: 'API tokens' }).click();
    expect(await owner.getByLabel('Expires after').inputValue()).toBe('90');
    expect(await owner.getByLabel('Role').locator('option').allInnerTexts()).toEqual(['Viewer', 'Operator', 'Admin', 'Owner']);
    await owner.getByLabel('Name').fill('monitoring');
    await owner.getByLabel('Role').selectOption('viewer');
    await owner.getByRole('button', { name: 'Create token' }).click();
    const row = owner.getByRole('row').filter({ hasText: 'monitoring' });
    await expect.poll(() => row.count(), POLL).toBe(1);
    expect(await row.locator('td[data-label="Role"]').innerText()).toBe('Viewer');
    expect(await row.locator('td[data-label="Created by"]').innerText()).toBe(system.adminUser);
    const expires = Date.parse((await row.locator('td[data-label="Expires"]').innerText()).replace(' UTC', 'Z').replace(' ', 'T'));
    expect(Math.abs(expires - (Date.now() + 90 * 86_400_000))).toBeLessThan(5 * 60_000);
    await saveScreenshot(owner, 'team-6c-api-token');
  });

  it("shows both admins' actions in the owner's audit log", async () => {
    await nav(owner, 'Settings').click();
    await owner.getByRole('navigation', { name: 'Settings sections' }).getByRole('link', { name: 'Audit log' }).click();
    await owner.getByRole('heading', { name: 'Audit log' }).waitFor();
    const entry = (actor: string, action: string) =>
      owner
        .getByRole('row')
        .filter({ has: owner.locator('td[data-label="Who"]', { hasText: actor }) })
        .filter({ has: owner.locator('td[data-label="Action"]', { hasText: action }) });
    await expect.poll(() => entry(system.adminUser, 'admin.create').count(), POLL).toBe(1);
    expect(await entry(system.adminUser, 'admin.create').locator('td[data-label="Target"]').innerText()).toBe(OPERATOR);
    await expect.poll(() => entry(OPERATOR, 'session.disconnect').count(), POLL).toBe(1);
    await expect.poll(() => entry(OPERATOR, 'auth.totp-enable').count(), POLL).toBe(1);
    await saveScreenshot(owner, 'team-7-audit');

    // The Admins page now shows the operator's two-factor sign-in as on.
    await nav(owner, 'Admins').click();
    const row = owner.getByRole('row').filter({ hasText: OPERATOR });
    await expect.poll(() => row.locator('td[data-label="Two-factor"]').innerText(), POLL).toBe('On');
  });

  it('fits a 390 px phone: Account and Admins without sideways scrolling', async () => {
    const phone = await newPage(browser, { viewport: { width: 390, height: 844 }, storageState: await owner.context().storageState() });
    try {
      for (const [path, heading, shot] of [
        ['/account', 'Account', 'team-8-phone-account'],
        ['/admins', 'Admins', 'team-9-phone-admins'],
      ] as const) {
        await phone.goto(`${system.httpUrl}${path}`);
        await phone.getByRole('heading', { name: heading, level: 1 }).waitFor();
        await phone.getByRole('table').first().waitFor();
        await saveScreenshot(phone, shot);
        const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        expect(overflow, path).toBeLessThanOrEqual(0);
      }
    } finally {
      await phone.context().close();
    }
  });

  it('shows only the two-factor set-up to admins without it, once an owner with it requires it', async () => {
    const created = await system.api('POST', '/api/v1/admins', { username: VIEWER, role: 'viewer', password: VIEWER_PASSWORD });
    expect(created.status).toBe(201);
    await nav(owner, 'Settings').click();
    await owner.getByRole('navigation', { name: 'Settings sections' }).getByRole('link', { name: 'Server' }).click();
    // Requiring it of everyone starts with oneself: until then the switch is off limits, with a link to Account.
    const require = owner.getByLabel('Require two-factor sign-in for all admins');
    await require.waitFor();
    expect(await require.isDisabled()).toBe(true);
    await owner.getByRole('link', { name: 'Account page' }).click();
    await owner.getByRole('button', { name: 'Set up two-factor sign-in' }).click();
    const ownerSecret = (await owner.getByTestId('totp-secret').innerText()).trim();
    await owner.getByLabel('Code from the app').fill(TOTP.generate({ secret: Secret.fromBase32(ownerSecret) }));
    await owner.getByRole('button', { name: 'Turn on two-factor sign-in' }).click();
    await owner.getByRole('button', { name: 'I have saved them' }).click();
    await owner.getByText('10 recovery codes left').waitFor();

    await nav(owner, 'Settings').click();
    await require.check();
    await owner.getByRole('button', { name: 'Save settings' }).click();
    await expect.poll(() => owner.getByRole('status').filter({ hasText: 'Settings saved' }).count(), POLL).toBe(1);
    await owner.getByRole('heading', { name: 'Security' }).scrollIntoViewIfNeeded();
    await saveScreenshot(owner, 'team-10-security-settings');

    // A viewer signing in now sees only the set-up (and Sign out); the API refuses everything else meanwhile.
    const viewer = await newPage(browser);
    const viewerErrors = collectPageErrors(viewer);
    try {
      await viewer.goto(`${system.httpUrl}/`);
      await viewer.getByLabel('Username').fill(VIEWER);
      await viewer.getByLabel('Password').fill(VIEWER_PASSWORD);
      await viewer.getByRole('button', { name: 'Sign in' }).click();
      await viewer.getByRole('heading', { name: 'Set up two-factor sign-in', level: 1 }).waitFor();
      expect(await viewer.getByRole('navigation', { name: 'Main' }).count()).toBe(0);
      const refused = await viewer.evaluate(async () => (await fetch('/api/v1/sessions')).json());
      expect(refused).toMatchObject({ error: { code: 'APP_TOTP_ENROLMENT_REQUIRED' } });
      const viewerSecret = (await viewer.getByTestId('totp-secret').innerText()).trim();
      await saveScreenshot(viewer, 'team-11-enrolment-required');

      const code = TOTP.generate({ secret: Secret.fromBase32(viewerSecret) });
      await viewer.getByLabel('Code from the app').fill(code);
      await viewer.getByRole('button', { name: 'Turn on two-factor sign-in' }).click();
      await expect.poll(() => viewer.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem').count(), POLL).toBe(10);
      await viewer.getByRole('button', { name: 'I have saved them' }).click();
      await viewer.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
      // A viewer changes nothing: no Admins, no new users, read-only settings without the save button.
      expect(await nav(viewer, 'Admins').count()).toBe(0);
      await nav(viewer, 'Users').click();
      await viewer.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
      expect(await viewer.getByRole('link', { name: '+ New user' }).count()).toBe(0);
      await nav(viewer, 'Get connected').click();
      await viewer.getByRole('heading', { name: 'Self-test' }).waitFor();
      expect(await viewer.getByRole('button', { name: 'Run self-test' }).count()).toBe(0);
      expect(viewerErrors).toEqual([]);
    } finally {
      await viewer.context().close();
    }

    // The owner, with two-factor sign-in, keeps the whole dashboard.
    await owner.reload();
    await owner.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    expect(ownerErrors).toEqual([]);
    expect(operatorErrors).toEqual([]);
  });

  it('lets the owner change roles, reset a password, turn off two-factor and delete, but not demote the last owner', async () => {
    await nav(owner, 'Admins').click();
    const row = (name: string) => owner.getByRole('row').filter({ has: owner.getByRole('cell', { name: new RegExp(`^${name}`) }) });
    const dialog = owner.getByRole('dialog');

    // The last owner stays an owner: the API's APP_LAST_OWNER message shows in the dialog.
    await row(system.adminUser)
      .getByRole('button', { name: /^Role…/ })
      .click();
    await dialog.getByLabel('New role').selectOption('admin');
    await dialog.getByRole('button', { name: 'Change role' }).click();
    await expect.poll(() => dialog.getByRole('alert').innerText(), POLL).toMatch(/owner/i);
    await saveScreenshot(owner, 'team-12-last-owner');
    await dialog.getByRole('button', { name: 'Cancel' }).click();

    await row(OPERATOR)
      .getByRole('button', { name: /^Role…/ })
      .click();
    await dialog.getByLabel('New role').selectOption('admin');
    await dialog.getByRole('button', { name: 'Change role' }).click();
    await expect.poll(() => row(OPERATOR).locator('td[data-label="Role"]').innerText(), POLL).toBe('Admin');

    await row(OPERATOR)
      .getByRole('button', { name: /^Reset password…/ })
      .click();
    await dialog.getByRole('button', { name: 'Generate' }).click();
    await dialog.getByRole('button', { name: 'Set password' }).click();
    const reset = (await owner.getByTestId('reset-password').innerText()).trim();
    expect(reset).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const signIn = await fetch(`${system.httpUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: OPERATOR, password: reset }),
    });
    expect((await signIn.json()).error.code).toBe('TOTP_REQUIRED'); // the new password is right; the code is next

    await row(OPERATOR)
      .getByRole('button', { name: /^Turn off two-factor…/ })
      .click();
    await dialog.getByRole('button', { name: 'Turn off two-factor' }).click();
    await expect.poll(() => row(OPERATOR).locator('td[data-label="Two-factor"]').innerText(), POLL).toBe('Off');

    await row(VIEWER)
      .getByRole('button', { name: /^Delete…/ })
      .click();
    await dialog.getByRole('button', { name: 'Delete admin' }).click();
    await expect.poll(() => row(VIEWER).count(), POLL).toBe(0);
    const admins = await system.api('GET', '/api/v1/admins');
    expect(admins.body.items.map((a: { username: string; role: string }) => `${a.username}:${a.role}`).sort()).toEqual([
      `${system.adminUser}:owner`,
      `${OPERATOR}:admin`,
    ]);
    expect(ownerErrors).toEqual([]);
  });
});
