/**
 * Groups and virtual folders in a real browser against a real Ferry process: the admin creates a virtual folder
 * and a group that mounts it, puts two users in the group (one in the user editor, one with a bulk action), sees
 * in the effective settings that their quota and the mount come "from group Sales", walks a user's files (the
 * mount, a new folder, the virtual folder's own storage), lets a rule create its missing folder on save,
 * bulk-disables a user after a confirmation, and is refused deleting a folder that is still mounted; a mount whose
 * folder on the server is gone is flagged as unavailable.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS_DIR, openDashboard, saveScreenshot } from '../support/browser.js';
import { startSystem, type System } from '../support/start-system.js';

const GROUP = 'Sales';
const FOLDER = 'reports';
const ALICE = 'alice-sales';
const BOB = 'bob-sales';
const POLL = { timeout: 15_000, interval: 200 };

let system: System;
let browser: Browser;
let page: Page;
let pageErrors: string[];

const nav = (name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
const status = (text: string | RegExp) => page.getByRole('status').filter({ hasText: text });
const row = (name: string) => page.getByRole('row').filter({ has: page.getByRole('link', { name, exact: true }) });

/** Full-page screenshots at desktop and phone width. */
async function screenshots(name: string) {
  await saveScreenshot(page, `groups-${name}`);
  await page.setViewportSize({ width: 390, height: 844 });
  await saveScreenshot(page, `groups-${name}-phone`);
  await page.setViewportSize({ width: 1360, height: 900 });
}

describe('groups, virtual folders and a user’s files', () => {
  beforeAll(async () => {
    system = await startSystem();
    for (const username of [ALICE, BOB]) {
      const created = await system.api('POST', '/api/v1/users', { username, password: `${username}-password` });
      expect(created.status).toBe(201);
    }
    ({ browser, page, pageErrors } = await openDashboard(system));
  });

  afterAll(async () => {
    await browser?.close();
    await system?.stop();
  });

  it('creates a virtual folder', async () => {
    await nav('Virtual folders').click();
    await page.getByRole('heading', { name: 'Virtual folders', level: 1 }).waitFor();
    await page.getByRole('link', { name: '+ New folder' }).click();
    await page.getByLabel('Name').fill(FOLDER);
    await page.getByLabel('Description').fill('Monthly reports for the sales team');
    await page.getByLabel('Folder on the server').fill('files/shared/reports');
    await page.getByLabel('Storage quota').fill('1 GB');
    await page.getByRole('button', { name: 'Create folder' }).click();
    await page.getByRole('heading', { name: FOLDER, level: 1 }).waitFor();
    await expect.poll(() => status('Folder created').count(), POLL).toBe(1);
  });

  it('creates a group that mounts the folder, with a rule and a quota', async () => {
    await nav('Groups').click();
    await page.getByRole('heading', { name: 'Groups', level: 1 }).waitFor();
    await page.getByRole('link', { name: '+ New group' }).click();
    await page.getByLabel('Name').fill(GROUP);
    await page.getByLabel('Description').fill('The sales team');
    await page.getByRole('button', { name: '+ Add folder rule' }).click();
    await page.getByLabel('Folder of rule 1').fill('/reports');
    for (const permission of ['List', 'Download', 'Upload']) await page.getByLabel(`${permission} in /reports`).check({ force: true });
    await page.getByRole('button', { name: '+ Mount a folder' }).click();
    await expect.poll(() => page.getByLabel('Folder', { exact: true }).inputValue(), POLL).toBe(FOLDER);
    await page.getByLabel('Appears at').fill('/reports');
    await page.getByLabel('Storage quota').fill('2 GB');
    await page.getByRole('button', { name: 'Create group' }).click();
    await page.getByRole('heading', { name: GROUP, level: 1 }).waitFor();
    await expect.poll(() => status('Group created').count(), POLL).toBe(1);
    await screenshots('1-group');

    const stored = await system.api('GET', `/api/v1/groups/${GROUP}`);
    expect(stored.body).toMatchObject({
      quotaBytes: 2 * 1024 ** 3,
      mounts: [{ folder: FOLDER, path: '/reports' }],
      permissions: [{ path: '/reports', allow: ['list', 'download', 'upload'] }],
    });
  });

  it('puts one user in the group in the editor and another with a bulk action', async () => {
    await nav('Users').click();
    await row(ALICE).getByRole('link', { name: ALICE, exact: true }).click();
    await page.getByRole('heading', { name: ALICE, level: 1 }).waitFor();
    await page.getByLabel('Group to add').selectOption(GROUP);
    await page.getByRole('button', { name: '+ Add to group' }).click();
    await page.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(() => status('Changes saved').count(), POLL).toBe(1);

    await nav('Users').click();
    await row(BOB)
      .getByRole('checkbox', { name: `Select ${BOB}` })
      .check();
    await page.getByRole('button', { name: 'Add to group…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add 1 user to a group?' });
    await expect.poll(() => dialog.getByLabel('Group').inputValue(), POLL).toBe(GROUP);
    await dialog.getByRole('button', { name: 'Add 1 user' }).click();
    await expect.poll(() => status(`1 user added to group ${GROUP}`).count(), POLL).toBe(1);

    await nav('Groups').click();
    await expect.poll(() => row(GROUP).getByRole('cell').nth(2).innerText(), POLL).toBe('2');
    await screenshots('2-groups');
  });

  it('shows the effective settings with where each comes from', async () => {
    await nav('Users').click();
    await row(ALICE).getByRole('link', { name: ALICE, exact: true }).click();
    const effective = page.getByRole('region', { name: 'Effective settings' });
    const quota = effective.getByRole('row').filter({ hasText: 'Storage quota' });
    await expect.poll(() => quota.innerText(), POLL).toMatch(/2 GB\s+from group Sales/);
    const mount = effective
      .getByRole('table', { name: /^Virtual folders/ })
      .getByRole('row')
      .filter({ hasText: '/reports' });
    await expect.poll(() => mount.innerText(), POLL).toContain(`from group ${GROUP}`);
    expect(await mount.innerText()).not.toContain('unavailable');
    const rule = effective
      .getByRole('table', { name: /^Merged permission rules/ })
      .getByRole('row')
      .filter({ hasText: '/reports' });
    expect(await rule.innerText()).toMatch(/List, Download, Upload\s+from group Sales/);
    await screenshots('3-effective');
    await page.emulateMedia({ colorScheme: 'dark' });
    await saveScreenshot(page, 'groups-3-effective-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('offers to create a rule’s missing folder and creates it on save', async () => {
    await page.getByRole('button', { name: '+ Add folder rule' }).click();
    const rulePath = page.getByLabel(/^Folder of rule \d+$/).last();
    await rulePath.fill('/incoming');
    await rulePath.blur();
    const missing = page.getByTestId('missing-folder');
    await expect.poll(() => missing.innerText(), POLL).toContain('does not exist');
    await missing.getByRole('button', { name: 'Create it on save' }).click();
    await expect.poll(() => missing.innerText(), POLL).toContain('created when you save');
    await page.getByRole('region', { name: 'Permissions' }).screenshot({ path: path.join(ARTIFACTS_DIR, 'groups-3b-missing-folder.png') });
    await page.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(() => status('missing folders were created').count(), POLL).toBe(1);
    await expect.poll(() => page.getByTestId('missing-folder').count(), POLL).toBe(0);
  });

  it('walks the user’s files: the mount, a download, a new folder, the virtual folder’s storage', async () => {
    const home = path.join(system.dataDir, 'files', ALICE);
    await mkdir(home, { recursive: true });
    await writeFile(path.join(home, 'welcome.txt'), 'Hello, Sales');
    await page.getByRole('link', { name: 'Browse files' }).click();
    await page.getByRole('heading', { name: `Files of ${ALICE}`, level: 1 }).waitFor();
    const mountRow = page.getByRole('row').filter({ hasText: `virtual folder ${FOLDER}` });
    await expect.poll(() => mountRow.count(), POLL).toBe(1);
    await expect.poll(() => page.getByRole('row').filter({ hasText: 'incoming' }).count(), POLL).toBe(1);
    const fileRow = page.getByRole('row').filter({ hasText: 'welcome.txt' });
    expect(await fileRow.innerText()).toContain('12 B');
    // Folders and mounts come before files.
    expect((await page.getByRole('row').allInnerTexts()).findIndex((text) => text.includes('welcome.txt'))).toBe(3);
    await screenshots('4-files-home');
    const [download] = await Promise.all([page.waitForEvent('download'), fileRow.getByRole('link', { name: /^Download/ }).click()]);
    expect(download.suggestedFilename()).toBe('welcome.txt');

    await mountRow.getByRole('link', { name: FOLDER }).click();
    await expect.poll(() => page.getByTestId('storage').innerText(), POLL).toMatch(/of 1 GB/);
    expect(await page.getByTestId('folder-permissions').innerText()).toBe('List, Download, Upload');
    await page.getByLabel('New folder in /reports').fill('2026-12');
    await page.getByRole('button', { name: 'Create folder' }).click();
    await expect.poll(() => page.getByRole('link', { name: '2026-12' }).count(), POLL).toBe(1);
    await screenshots('4-files-mount');

    await page
      .getByRole('row')
      .filter({ hasText: '2026-12' })
      .getByRole('button', { name: /^Remove/ })
      .click();
    await page.getByRole('dialog', { name: 'Remove folder 2026-12?' }).getByRole('button', { name: 'Remove folder' }).click();
    await expect.poll(() => page.getByRole('link', { name: '2026-12' }).count(), POLL).toBe(0);
    await page.getByRole('navigation', { name: 'Folder path' }).getByRole('link', { name: ALICE }).click();
    await expect
      .poll(
        () =>
          page
            .getByRole('row')
            .filter({ hasText: `virtual folder ${FOLDER}` })
            .count(),
        POLL,
      )
      .toBe(1);
  });

  it('bulk-disables a user after a confirmation that says how many', async () => {
    await nav('Users').click();
    await row(BOB)
      .getByRole('checkbox', { name: `Select ${BOB}` })
      .check();
    await page.getByRole('button', { name: 'Disable', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Disable 1 user?' });
    await expect.poll(() => dialog.innerText(), POLL).toContain(BOB);
    await screenshots('5-bulk');
    await dialog.getByRole('button', { name: 'Disable 1 user' }).click();
    await expect.poll(() => status('1 user disabled').count(), POLL).toBe(1);
    await expect.poll(() => row(BOB).getByRole('cell').nth(2).innerText(), POLL).toBe('disabled');
    expect((await system.api('GET', `/api/v1/users/${BOB}`)).body.enabled).toBe(false);
    expect((await system.api('GET', `/api/v1/users/${ALICE}`)).body.enabled).toBe(true);
  });

  it('refuses to delete a folder that is still mounted and says why', async () => {
    await nav('Virtual folders').click();
    await expect.poll(() => row(FOLDER).innerText(), POLL).toContain(`group ${GROUP}`);
    await screenshots('6-folders');
    await row(FOLDER).getByRole('link', { name: FOLDER, exact: true }).click();
    await page.getByRole('button', { name: 'Delete folder…' }).click();
    const dialog = page.getByRole('dialog', { name: `Delete virtual folder ${FOLDER}?` });
    await dialog.getByRole('button', { name: 'Delete folder' }).click();
    await expect.poll(() => dialog.getByRole('alert').innerText(), POLL).toMatch(/mount/i);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect((await system.api('GET', `/api/v1/folders/${FOLDER}`)).status).toBe(200);
  });

  it('flags a mount whose folder on the server is gone', async () => {
    await rm(path.join(system.dataDir, 'files', 'shared', 'reports'), { recursive: true, force: true });
    await nav('Users').click();
    await row(ALICE).getByRole('link', { name: ALICE, exact: true }).click();
    const mount = page
      .getByRole('region', { name: 'Effective settings' })
      .getByRole('table', { name: /^Virtual folders/ })
      .getByRole('row')
      .filter({ hasText: '/reports' });
    await expect.poll(() => mount.innerText(), POLL).toContain('unavailable');
    expect(pageErrors).toEqual([]);
  });
});
