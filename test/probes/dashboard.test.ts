/**
 * "Test from the customer's network" in a real browser against a real Ferry process: create a test link on the Get
 * connected page, copy-ready credentials and commands appear once, the customer's curl run turns plain passive to
 * Works while the results are open, and the link is deleted after a confirmation.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDashboard, saveScreenshot, signIn } from '../support/browser.js';
import { startSystem, type System } from '../support/start-system.js';

const run = promisify(execFile);
const POLL = { timeout: 20_000, interval: 250 };

let system: System;
let browser: Browser;
let page: Page;
let pageErrors: string[];

describe("test from the customer's network", () => {
  beforeAll(async () => {
    system = await startSystem();
    ({ browser, page, pageErrors } = await openDashboard(system, { signedIn: false }));
  });

  afterAll(async () => {
    await browser?.close();
    await system?.stop();
  });

  it('creates a link, shows its commands once, reports what the customer ran, and deletes it', async () => {
    await signIn(page, system);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Get connected' }).click();
    await page.getByRole('heading', { name: "Test from the customer's network" }).waitFor();
    await page.getByText('No test links').waitFor();

    await page.getByLabel('Valid for').selectOption({ label: '15 minutes' });
    await page.getByLabel('Logins allowed').fill('5');
    await page.getByLabel('Note').fill('ACME, ticket 42');
    await page.getByRole('button', { name: 'Create test link' }).click();

    const password = await page.locator('#probe-password').inputValue();
    expect(password).toMatch(/^[A-Za-z0-9_-]{20}$/);
    const probes = page.getByRole('region', { name: "Test from the customer's network" }); // the page has other copy buttons too
    await expect.poll(() => probes.getByRole('button', { name: /^Copy / }).count(), POLL).toBe(9); // the password and 8 commands
    const curl = await page.locator('#probe-command-curl-plain-passive').innerText();
    expect(curl).toContain(password);
    await page.getByRole('heading', { name: 'lftp' }).waitFor();
    const links = page.getByRole('list', { name: 'Test links' });
    await expect.poll(() => links.innerText(), POLL).toMatch(/ACME, ticket 42.*expires in 15 min · 0 of 5 logins used/s);

    // The customer runs the command; the open results follow without a reload.
    await run('sh', ['-c', curl.replace(/ftp:\/\/[^/' ]+/, `ftp://127.0.0.1:${system.ftpPort}`)], { timeout: 60_000 });
    const results = page.getByRole('list', { name: 'Results per connection mode' });
    await expect.poll(() => results.innerText(), POLL).toMatch(/Works\s+Plain FTP, passive/);
    await expect.poll(() => links.innerText(), POLL).toContain('1 of 5 logins used');
    expect(await results.innerText()).toMatch(/Not tested\s+FTPS, active/);
    await saveScreenshot(page, 'probes-1-results');

    // Shown once: gone after hiding it and reloading.
    await page.getByRole('button', { name: 'Hide', exact: true }).click();
    await page.reload();
    await page.getByRole('heading', { name: "Test from the customer's network" }).waitFor();
    await expect.poll(() => links.innerText(), POLL).toContain('ACME, ticket 42');
    expect(await page.content()).not.toContain(password);

    await links.getByRole('button', { name: /^Delete / }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete link' }).click();
    await page.getByText('No test links').waitFor();
    expect(pageErrors).toEqual([]);
  });
});
