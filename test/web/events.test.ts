/**
 * Event actions in a real browser against a real Ferry process: the admin creates a rule with a webhook to a small
 * HTTP receiver run by the test, copies the signing secret shown once, sends a test event from the rule's page and
 * sees it delivered (the receiver checks the signature), finds it in the delivery log (filters in the URL, the event
 * in the row's details), uses "Retry now" on a delivery the receiver refused with a 500, rotates the secret and
 * pages through the log and deletes the rule; every page fits a 390 px phone without sideways scrolling.
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDashboard, saveScreenshot } from '../support/browser.js';
import { startSystem, type System } from '../support/start-system.js';

const RULE = 'Uploads to the ERP';
const POLL = { timeout: 15_000, interval: 200 };

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

/** A webhook receiver on 127.0.0.1 that answers 500 to the next `refuse` requests and 200 to the others. */
class Receiver {
  readonly requests: Received[] = [];
  refuse = 0;
  readonly #server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const status = this.refuse > 0 ? 500 : 200;
      if (this.refuse > 0) this.refuse--;
      this.requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'thanks' : 'receiver is down for maintenance');
    });
  });
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/ferry-hook`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

/** Whether Ferry-Signature ("t=<s>,v1=<hex>") is the HMAC-SHA256 of "<t>.<body>" keyed with `secret`. */
function signedWith(secret: string, request: Received): boolean {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(request.headers['ferry-signature']));
  if (!match) return false;
  return createHmac('sha256', secret).update(`${match[1]}.${request.body}`).digest('hex') === match[2];
}

let system: System;
let receiver: Receiver;
let browser: Browser;
let page: Page;
let pageErrors: string[];
let secret = '';

const nav = (name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
const tab = (name: string) => page.getByRole('navigation', { name: 'Events sections' }).getByRole('link', { name, exact: true });
const status = (text: string | RegExp) => page.getByRole('status').filter({ hasText: text });
const deliveryRows = () => page.locator('tr.delivery');

/** Full-page screenshots at desktop and phone width; the phone one also checks that nothing scrolls sideways. */
async function screenshots(name: string) {
  await saveScreenshot(page, `events-${name}`);
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  await saveScreenshot(page, `events-${name}-phone`);
  await page.setViewportSize({ width: 1360, height: 900 });
  expect(overflow, `${name} scrolls sideways at 390 px`).toBe(0);
}

describe('event rules and their deliveries', () => {
  beforeAll(async () => {
    receiver = new Receiver();
    await receiver.start();
    // Automatic retries wait an hour, so the test's own "Retry now" is the one that delivers.
    system = await startSystem({ env: { FERRY_EVENT_RETRY_SECONDS: '3600' } });
    ({ browser, page, pageErrors } = await openDashboard(system));
  });

  afterAll(async () => {
    await browser?.close();
    await system?.stop();
    await receiver?.close();
  });

  it('opens Events with no rules yet', async () => {
    await nav('Events').click();
    await page.getByRole('heading', { name: 'Events', level: 1 }).waitFor();
    await page.getByText('No event rules yet').waitFor();
    expect(await tab('Rules').getAttribute('aria-current')).toBe('page');
    await screenshots('1-empty');
  });

  it('creates a rule with a webhook; the filters follow the chosen events and the secret is shown once', async () => {
    await page.getByRole('link', { name: '+ New rule' }).click();
    await page.getByRole('heading', { name: 'New event rule', level: 1 }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill(RULE);

    const event = (type: string) => page.getByRole('checkbox', { name: new RegExp(`^${type.replace('.', '\\.')} `) });
    await event('upload.completed').check();
    await page.getByLabel('Paths', { exact: true }).waitFor();
    expect(await page.getByLabel('Finding codes', { exact: true }).count()).toBe(0);
    await event('finding.raised').check();
    await page.getByLabel('Finding codes', { exact: true }).waitFor();
    await event('finding.raised').uncheck();
    await expect.poll(() => page.getByLabel('Finding codes', { exact: true }).count(), POLL).toBe(0);
    await page.getByLabel('Paths', { exact: true }).fill('/incoming/**');

    // Neither SMTP nor FERRY_EVENT_COMMANDS is set on this server: say so instead of offering what cannot work.
    expect(await page.getByRole('button', { name: '+ E-mail' }).isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: '+ Command' }).isDisabled()).toBe(true);
    await page.getByText('FERRY_EVENT_COMMANDS', { exact: true }).first().waitFor();

    await page.getByRole('button', { name: '+ Webhook' }).click();
    await page.getByLabel('Webhook URL').fill(receiver.url);
    await page.getByLabel('Timeout (seconds)').fill('5');
    const payload = page.getByRole('region', { name: 'What receivers get' });
    await expect.poll(() => payload.innerText(), POLL).toContain('"hostPath"');
    await screenshots('2-new-rule');

    await page.getByRole('button', { name: 'Create rule' }).click();
    await page.getByRole('heading', { name: RULE, level: 1 }).waitFor();
    await expect.poll(() => status('Rule created').count(), POLL).toBe(1);
    secret = (await page.getByTestId('rule-secret').innerText()).trim();
    expect(secret.length).toBeGreaterThanOrEqual(16);
    await screenshots('3-created');

    const stored = await system.api('GET', '/api/v1/event-rules');
    expect(stored.body).toMatchObject([
      {
        name: RULE,
        enabled: true,
        events: ['upload.completed'],
        filters: { paths: ['/incoming/**'] },
        actions: [{ kind: 'webhook', url: receiver.url, timeoutMs: 5000 }],
      },
    ]);

    await page.reload();
    await page.getByRole('heading', { name: RULE, level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Rotate secret…' }).waitFor();
    expect(await page.getByTestId('rule-secret').count()).toBe(0);
  });

  it('sends a test event from the rule’s page and sees it delivered, signed with the secret', async () => {
    await page.getByRole('button', { name: 'Send a test event' }).click();
    const result = page.getByRole('status', { name: 'Test result' });
    await expect.poll(() => result.innerText(), { ...POLL, timeout: 30_000 }).toMatch(/Delivered\s+HTTP 200/);
    expect(receiver.requests).toHaveLength(1);
    const [request] = receiver.requests;
    expect(request!.headers['ferry-event-type']).toBe('upload.completed');
    expect(JSON.parse(request!.body)).toMatchObject({ type: 'upload.completed', test: true, data: { path: '/incoming/report.csv' } });
    expect(signedWith(secret, request!)).toBe(true);
    await screenshots('4-test-delivered');
  });

  it('lists the delivery, with its event in the details and the filters in the URL', async () => {
    await page.getByRole('link', { name: 'See it in the deliveries' }).click();
    await page.getByRole('heading', { name: 'Deliveries' }).waitFor();
    expect(new URL(page.url()).searchParams.get('eventId')).toMatch(/.+/);
    await expect.poll(() => deliveryRows().count(), POLL).toBe(1);

    await tab('Deliveries').click();
    await expect.poll(() => deliveryRows().count(), POLL).toBe(1);
    const row = deliveryRows().first();
    expect(await row.innerText()).toMatch(/upload\.completed[\s\S]*Uploads to the ERP[\s\S]*webhook[\s\S]*Delivered/);
    await row.getByRole('button', { name: /^Details/ }).click();
    const json = page.getByLabel('Event JSON');
    await expect.poll(() => json.innerText(), POLL).toContain('"test": true');
    expect(await page.getByLabel('Output').innerText()).toBe('thanks');
    await screenshots('5-deliveries');

    await page.getByLabel('Status').selectOption('failed');
    await expect.poll(() => new URL(page.url()).searchParams.get('status'), POLL).toBe('failed');
    await page.getByText('No deliveries', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await expect.poll(() => deliveryRows().count(), POLL).toBe(1);
  });

  it('retries a delivery the receiver refused', async () => {
    receiver.refuse = 1;
    await tab('Rules').click();
    const ruleRow = page.getByRole('row').filter({ has: page.getByRole('link', { name: RULE, exact: true }) });
    await expect.poll(() => ruleRow.innerText(), POLL).toContain('1 delivered');
    await screenshots('6-rules');
    await ruleRow.getByRole('link', { name: RULE, exact: true }).click();
    await page.getByRole('button', { name: 'Send a test event' }).click();
    const result = page.getByRole('status', { name: 'Test result' });
    await expect.poll(() => result.innerText(), { ...POLL, timeout: 30_000 }).toMatch(/Pending\s+HTTP 500/);

    await nav('Events').click();
    await tab('Deliveries').click();
    await page.getByLabel('Status').selectOption('pending');
    await expect.poll(() => deliveryRows().count(), POLL).toBe(1);
    const row = deliveryRows().first();
    expect(await row.innerText()).toContain('HTTP 500');
    await screenshots('7-pending');
    await row.getByRole('button', { name: /^Retry now/ }).click();
    await expect.poll(() => status('Delivered to').count(), { ...POLL, timeout: 30_000 }).toBe(1);
    await expect.poll(() => row.innerText(), POLL).toContain('Delivered');
    expect(await row.getByRole('button', { name: /^Retry now/ }).count()).toBe(0);
    expect(receiver.requests.map((r) => r.status)).toEqual([200, 500, 200]);
    expect(receiver.requests[2]!.headers['ferry-event-id']).toBe(receiver.requests[1]!.headers['ferry-event-id']);
  });

  it('rotates the secret: the new one is shown once and signs the next event', async () => {
    await tab('Rules').click();
    await page.getByRole('link', { name: RULE, exact: true }).click();
    await page.getByRole('button', { name: 'Rotate secret…' }).click();
    await page.getByRole('dialog', { name: 'Make a new signing secret?' }).getByRole('button', { name: 'Rotate secret' }).click();
    const shown = page.getByTestId('rule-secret');
    await shown.waitFor();
    const rotated = (await shown.innerText()).trim();
    expect(rotated).not.toBe(secret);
    await page.getByRole('button', { name: 'Send a test event' }).click();
    await expect
      .poll(() => page.getByRole('status', { name: 'Test result' }).innerText(), { ...POLL, timeout: 30_000 })
      .toContain('Delivered');
    const last = receiver.requests.at(-1)!;
    expect(signedWith(rotated, last)).toBe(true);
    expect(signedWith(secret, last)).toBe(false);
  });

  it('pages the log with Load more', async () => {
    const [rule] = (await system.api('GET', '/api/v1/event-rules')).body;
    for (let i = 0; i < 25; i++) expect((await system.api('POST', `/api/v1/event-rules/${rule.id}/test`, {})).status).toBe(200);
    await nav('Events').click();
    await tab('Deliveries').click();
    await expect.poll(() => deliveryRows().count(), POLL).toBe(25);
    await page.getByRole('button', { name: 'Load more' }).click();
    await expect.poll(() => deliveryRows().count(), POLL).toBe(28);
    expect(await page.getByRole('button', { name: 'Load more' }).count()).toBe(0);
    const ids = await deliveryRows().evaluateAll((rows) => rows.map((row) => Number(row.getAttribute('data-delivery'))));
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    await tab('Rules').click();
    await page.getByRole('link', { name: RULE, exact: true }).click();
  });

  it('deletes the rule; its deliveries stay in the log', async () => {
    await page.getByRole('button', { name: 'Delete rule…' }).click();
    await page
      .getByRole('dialog', { name: `Delete rule ${RULE}?` })
      .getByRole('button', { name: 'Delete rule' })
      .click();
    await page.getByText('No event rules yet').waitFor();
    await tab('Deliveries').click();
    await expect.poll(() => deliveryRows().count(), POLL).toBe(25);
    expect(await deliveryRows().first().innerText()).toContain('(deleted)');
    await page.emulateMedia({ colorScheme: 'dark' });
    await saveScreenshot(page, 'events-8-deliveries-dark');
    await page.emulateMedia({ colorScheme: 'light' });
    expect(pageErrors).toEqual([]);
  });
});

describe('e-mail and command actions on a server set up for them', () => {
  beforeAll(async () => {
    // Nothing listens on the SMTP port: e-mails fail and wait for a retry, which is all this needs.
    system = await startSystem({
      env: { FERRY_SMTP_URL: 'smtp://127.0.0.1:9', FERRY_SMTP_FROM: 'Ferry <ferry@example.com>', FERRY_EVENT_COMMANDS: '/bin/cat' },
    });
    ({ browser, page, pageErrors } = await openDashboard(system));
  });

  afterAll(async () => {
    await browser?.close();
    await system?.stop();
  });

  it('creates a rule with an e-mail digest and a command, shows the server’s field errors in place, and runs the command', async () => {
    await page.goto(`${system.httpUrl}/events/rules/new`);
    await page.getByRole('heading', { name: 'New event rule', level: 1 }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('Findings to the on-call desk');
    await page.getByRole('checkbox', { name: /^finding\.raised / }).check();
    await page.getByRole('checkbox', { name: /^login\.failed / }).check();
    await page.getByLabel('Finding codes', { exact: true }).fill('passive-data-never-arrived');
    await page.getByLabel('Findings this bad or worse').selectOption('warning');
    await page.getByLabel('Groups', { exact: true }).fill('Nobody');

    await page.getByRole('button', { name: '+ E-mail' }).click();
    await page.getByLabel('Recipients').fill('oncall@example.com, ops@example.com');
    await page.getByLabel('Subject').fill('[Ferry] {{type}} for {{data.user}}');
    await page.getByLabel('Digest every (minutes)').fill('60');
    await page.getByRole('button', { name: '+ Command' }).click();
    await expect.poll(() => page.getByLabel('Program').inputValue(), POLL).toBe('/bin/cat');
    await page.getByRole('checkbox', { name: 'FERRY_CLIENT_ADDRESS' }).check();
    await page.getByLabel('Output kept').fill('4 KB');

    await page.getByRole('button', { name: 'Create rule' }).click();
    const groupsError = page.locator('#filter-groups-error');
    await expect.poll(() => groupsError.innerText(), POLL).toContain('There is no group Nobody');
    expect(await page.getByLabel('Groups', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    await screenshots('9-email-command');
    await page.getByLabel('Groups', { exact: true }).fill('');
    await page.getByRole('button', { name: 'Create rule' }).click();
    await page.getByRole('heading', { name: 'Findings to the on-call desk', level: 1 }).waitFor();

    const [rule] = (await system.api('GET', '/api/v1/event-rules')).body;
    expect(rule).toMatchObject({
      events: ['login.failed', 'finding.raised'],
      filters: { findingCodes: ['passive-data-never-arrived'], minSeverity: 'warning', groups: [] },
      actions: [
        { kind: 'email', to: ['oncall@example.com', 'ops@example.com'], subject: '[Ferry] {{type}} for {{data.user}}', digestMinutes: 60 },
        { kind: 'command', command: '/bin/cat', env: ['clientAddress'], outputLimitBytes: 4096 },
      ],
    });

    await page.getByLabel('Example event').selectOption('finding.raised');
    await page.getByRole('button', { name: 'Send a test event' }).click();
    const command = page.getByRole('status', { name: 'Test result' }).getByRole('row').filter({ hasText: '/bin/cat' });
    await expect.poll(() => command.innerText(), { ...POLL, timeout: 40_000 }).toMatch(/Delivered\s+exit 0/);
    await screenshots('10-email-command-tested');

    // cat echoes the event it read on its standard input: the output in the log is the event itself.
    await page.getByRole('link', { name: 'See it in the deliveries' }).click();
    const row = deliveryRows().filter({ hasText: '/bin/cat' });
    await row.getByRole('button', { name: /^Details/ }).click();
    await expect.poll(async () => JSON.parse(await page.getByLabel('Output').innerText()).type, POLL).toBe('finding.raised');
    expect(pageErrors).toEqual([]);
  });
});
