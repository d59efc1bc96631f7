/**
 * Headless Chromium for the browser end-to-end tests (playwright-core driving the system's chromium;
 * browser downloads are not possible here). Screenshots go to test/artifacts/ (gitignored).
 *
 *   const browser = await launchBrowser();
 *   const page = await newPage(browser, { baseURL: system.httpUrl });
 *   await saveScreenshot(page, 'overview');            // test/artifacts/overview.png, full page
 *   await browser.close();
 *
 *   const { browser, page, pageErrors } = await openDashboard(system);   // the usual beforeAll: signed in
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';

export const ARTIFACTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../artifacts');

/** Launches Chromium from CHROMIUM_PATH (default /usr/bin/chromium) without sandbox, GPU or background traffic. */
export async function launchBrowser(): Promise<Browser> {
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(`Chromium not found at ${executablePath}: install Debian's chromium or set CHROMIUM_PATH`);
  }
  return chromium.launch({
    executablePath,
    timeout: 30_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
      '--disable-quic',
    ],
  });
}

/** A page in a fresh context (own cookies) that accepts downloads; actions and waits time out after 15 s. */
export async function newPage(browser: Browser, options: BrowserContextOptions = {}): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, acceptDownloads: true, ...options });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  return page;
}

/** Saves a full-page PNG as test/artifacts/<name>.png and returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  const file = path.join(ARTIFACTS_DIR, `${name}.png`);
  await page.evaluate(() => window.scrollTo(0, 0)); // sticky navigation is drawn where the page is scrolled to
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
  return file;
}

/**
 * Collects what should never happen in a run: console errors (CSP violations included), uncaught exceptions and
 * 5xx replies. Expected 4xx replies (a 401 before sign-in, a 409 for a duplicate) are not errors of the page;
 * Chromium's generic "Failed to load resource" console line for them is skipped.
 */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('response', (response) => {
    if (response.status() >= 500) errors.push(`${response.status()} ${response.request().method()} ${response.url()}`);
  });
  return errors;
}

/** Opens the admin site at `httpUrl`, signs in as the admin and waits for the Overview. */
export async function signIn(page: Page, system: { httpUrl: string; adminUser: string; adminPassword: string }): Promise<void> {
  await page.goto(`${system.httpUrl}/`);
  await page.getByLabel('Username').fill(system.adminUser);
  await page.getByLabel('Password').fill(system.adminPassword);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
}

/** The dashboard the browser tests load is the built one: a missing build fails the test file instead of serving 404s. */
export function requireBuiltDashboard(): void {
  const index = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../apps/web/dist/index.html');
  if (!existsSync(index)) throw new Error('apps/web/dist/index.html is missing: run `pnpm build` first');
}

export interface Dashboard {
  browser: Browser;
  page: Page;
  /** What collectPageErrors gathers on the page: assert it is empty at the end. */
  pageErrors: string[];
}

/**
 * A browser test's usual start: Chromium, a fresh page (with `options`), its script errors collected and, unless
 * `signedIn` is false, signed in as the admin with the Overview shown.
 */
export async function openDashboard(
  system: { httpUrl: string; adminUser: string; adminPassword: string },
  { signedIn = true, ...options }: BrowserContextOptions & { signedIn?: boolean } = {},
): Promise<Dashboard> {
  requireBuiltDashboard();
  const browser = await launchBrowser();
  try {
    const page = await newPage(browser, options);
    const pageErrors = collectPageErrors(page);
    if (signedIn) await signIn(page, system);
    return { browser, page, pageErrors };
  } catch (error) {
    await browser.close();
    throw error;
  }
}
