/**
 * The Get connected page against a real Ferry process started with fixed ports: the host clients must use comes
 * from the settings (never from this page's URL), every firewall flavour opens the configured control ports and
 * passive range, the certificate fingerprint only breaks between bytes, copy buttons copy, the self-test's own
 * FTP session is labelled in History, and the page fits a 390 px phone.
 */
import { createServer, type AddressInfo } from 'node:net';
import { SELF_TEST_CLIENT } from '@ferry/contract';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDashboard, saveScreenshot } from '../support/browser.js';
import { startSystem, type System } from '../support/start-system.js';

const POLL = { timeout: 15_000, interval: 200 };
const HOST = 'ftp.example.test';

let system: System;
let browser: Browser;
let page: Page;
let pageErrors: string[];
let ftpPort: number;
let ftpsPort: number;
let pasv: { min: number; max: number };

/** A port nothing listens on right now (the OS's pick, released at once). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * The text of each line the browser laid `element`'s text out on: characters are grouped by the top of their
 * own box, so a line break anywhere (a wrap inside a byte included) shows as a new entry.
 */
function renderedLines(page: Page, testId: string): Promise<string[]> {
  return page.getByTestId(testId).evaluate((element) => {
    const lines = new Map<number, string>();
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.textContent ?? '';
      for (let i = 0; i < text.length; i++) {
        const range = document.createRange();
        range.setStart(node, i);
        range.setEnd(node, i + 1);
        const rect = range.getBoundingClientRect();
        if (rect.width === 0 && rect.height === 0) continue;
        const top = Math.round(rect.top);
        lines.set(top, (lines.get(top) ?? '') + text[i]);
      }
    }
    return [...lines.entries()].sort(([a], [b]) => a - b).map(([, line]) => line);
  });
}

describe('Get connected', () => {
  beforeAll(async () => {
    ftpPort = await freePort();
    ftpsPort = await freePort();
    const base = 41_000 + Math.floor(Math.random() * 2000) * 10;
    pasv = { min: base, max: base + 9 };
    system = await startSystem({
      env: { FERRY_FTP_PORT: String(ftpPort), FERRY_FTPS_PORT: String(ftpsPort), FERRY_PASV_PORTS: `${pasv.min}-${pasv.max}` },
    });
    expect(system.ftpPort).toBe(ftpPort);
    ({ browser, page, pageErrors } = await openDashboard(system));
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: system.httpUrl });
  });

  afterAll(async () => {
    await browser?.close();
    await system?.stop();
  });

  it("says no host is set instead of showing this page's own address, and links to the setting", async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Get connected' }).click();
    await page.getByRole('heading', { name: 'Get connected', level: 1 }).waitFor();
    expect(await page.getByTestId('connect-host').innerText()).toBe('Not set');
    const settings = page.getByRole('link', { name: 'Set the advertised address in Settings' });
    expect(await settings.getAttribute('href')).toMatch(/^\/settings/);
    const facts = await page.getByRole('region', { name: 'Client settings' }).innerText();
    expect(facts).not.toContain('127.0.0.1');
  });

  it("runs the self-test, whose own FTP sessions show in History with the self-test's client name", async () => {
    await page.getByRole('button', { name: 'Run self-test' }).click();
    const results = page.getByRole('list', { name: 'Self-test results' });
    await results.waitFor();
    const items = await results.getByRole('listitem').allInnerTexts();
    expect(items.find((t) => t.includes('Control port'))).toMatch(/^OK/);
    expect(items.find((t) => t.includes('Implicit FTPS port'))).toMatch(/^OK[\s\S]*with TLS/);
    type Row = { clientSoftware: string | null; endedAt: number | null; tls: boolean };
    const ended = async () => {
      const res = await system.api('GET', '/api/v1/sessions/history');
      return (res.body.items as Row[]).filter((s) => s.endedAt !== null);
    };
    // One session on the control port and one on the implicit FTPS port, both labelled, both over at once:
    // nothing is left waiting for a TLS handshake (SELF_TEST_CLIENT is what the contract says the test sends).
    await expect.poll(async () => (await ended()).length, POLL).toBe(2);
    const sessions = await ended();
    expect(sessions.map((s) => s.clientSoftware)).toEqual([SELF_TEST_CLIENT, SELF_TEST_CLIENT]);
    expect(sessions.map((s) => s.tls).sort()).toEqual([false, true]); // the control port's and the implicit FTPS port's
    expect(SELF_TEST_CLIENT).toBe('Ferry self-test');
    expect((await system.api('GET', '/api/v1/sessions')).body.items).toEqual([]);
  });

  it('gives firewall rules for the configured control ports and passive range in every flavour', async () => {
    const range = (sep: string) => `${pasv.min}${sep}${pasv.max}`;
    const expected: Record<string, RegExp[]> = {
      ufw: [new RegExp(`ufw allow ${ftpPort}/tcp`), new RegExp(`ufw allow ${ftpsPort}/tcp`), new RegExp(`ufw allow ${range(':')}/tcp`)],
      nftables: [new RegExp(`tcp dport ${ftpPort} `), new RegExp(`tcp dport ${ftpsPort} `), new RegExp(`tcp dport ${range('-')} `)],
      iptables: [
        new RegExp(`iptables -A INPUT -p tcp --dport ${ftpPort} `),
        new RegExp(`ip6tables -A INPUT -p tcp --dport ${range(':')} `),
        new RegExp(`--dport ${ftpsPort} `),
      ],
      firewalld: [
        new RegExp(`--add-port=${ftpPort}/tcp`),
        new RegExp(`--add-port=${ftpsPort}/tcp`),
        new RegExp(`--add-port=${range('-')}/tcp`),
        /firewall-cmd --reload/,
      ],
      Cloud: [new RegExp(`TCP\\s+${ftpPort}\\s`), new RegExp(`TCP\\s+${ftpsPort}\\s`), new RegExp(`TCP\\s+${range('-')}\\s`)],
    };
    const panel = page.getByRole('tabpanel');
    for (const [tab, patterns] of Object.entries(expected)) {
      await page.getByRole('tab', { name: tab, exact: true }).click();
      expect(await page.getByRole('tab', { name: tab, exact: true }).getAttribute('aria-selected')).toBe('true');
      const text = await panel.innerText();
      for (const pattern of patterns) expect(text, `${tab}: ${text}`).toMatch(pattern);
      if (tab === 'nftables') await saveScreenshot(page, 'connect-1-firewall');
    }
    await page.getByRole('tab', { name: 'ufw', exact: true }).click();
    await page.getByRole('button', { name: 'Copy ufw (Ubuntu, Debian) commands' }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(await panel.locator('pre').innerText());
  });

  it('breaks the certificate fingerprint only between bytes, and copies it whole', async () => {
    const info = await system.api('GET', '/api/v1/server');
    const fingerprint = info.body.tlsFingerprint as string;
    expect(fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    for (const width of [1360, 700, 390, 320]) {
      await page.setViewportSize({ width, height: 900 });
      const lines = await renderedLines(page, 'fingerprint');
      expect(lines.join(''), `at ${width} px`).toBe(fingerprint);
      for (const line of lines) expect(line, `at ${width} px: ${JSON.stringify(lines)}`).toMatch(/^([0-9A-F]{2}:)*[0-9A-F]{2}:?$/);
      if (width === 390) expect(lines.length).toBeGreaterThan(1); // narrow enough to wrap: the check above is not vacuous
    }
    await page.setViewportSize({ width: 1360, height: 900 });
    await page.getByRole('button', { name: 'Copy certificate fingerprint' }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(fingerprint);
  });

  it('shows the advertised address from the settings as the host, with copy buttons for it, the ports and the commands', async () => {
    expect((await system.api('PATCH', '/api/v1/settings', { passiveAddress: HOST })).status).toBe(200);
    await page.reload();
    await page.getByRole('heading', { name: 'Get connected', level: 1 }).waitFor();
    await expect.poll(() => page.getByTestId('connect-host').innerText(), POLL).toBe(HOST);
    await page.getByRole('button', { name: 'Copy host' }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(HOST);
    await page.getByRole('button', { name: 'Copy control port' }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(String(ftpPort));
    await page.getByRole('button', { name: 'Copy passive port range' }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(`${pasv.min}-${pasv.max}`);
    const commands = await page.getByRole('list', { name: 'Client commands' }).innerText();
    expect(commands).toContain(`ftp://${HOST}:${ftpPort}/`);
    await page.getByRole('button', { name: 'Copy lftp (FTPS)' }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(
      `lftp -u USERNAME -p ${ftpPort} -e "set ftp:ssl-force true" ${HOST}`,
    );
    expect(await page.getByText('No advertised address is set').count()).toBe(0);
    await saveScreenshot(page, 'connect-2-host');
  });

  it('fits a 390 px phone without sideways scrolling of the page', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('tab', { name: 'iptables', exact: true }).click();
    await saveScreenshot(page, 'connect-3-phone');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    const wide = await page.evaluate(() =>
      [...document.querySelectorAll('main *')]
        .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
        .slice(0, 5)
        .map((e) => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`),
    );
    expect(overflow, wide.join('\n')).toBeLessThanOrEqual(0);
    await page.setViewportSize({ width: 1360, height: 900 });
    expect(pageErrors).toEqual([]);
  });
});
