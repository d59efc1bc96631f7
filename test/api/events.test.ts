/**
 * Event actions from outside: a real Ferry process, a real FTP client (basic-ftp) and real receivers on
 * 127.0.0.1. An upload reaches a node:http webhook, signed over its raw body; a refused FTP login reaches an
 * SMTP server as an e-mail (and an unreachable SMTP server leaves its error in the delivery log); a new
 * folder runs an allowed shell script with the event on stdin and FERRY_* variables (and a script that fails
 * leaves its exit code and output). Rules that cannot work are refused with a 400 naming the field.
 */
import { existsSync, statSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FTPError } from 'basic-ftp';
import { describe, expect, it } from 'vitest';
import {
  allDeliveries,
  createFtpUser,
  createRule,
  ftpLogin,
  FTP_PASSWORD,
  harness,
  statusCounts,
  upload,
} from '../support/event-harness.js';
import { freePort, startSmtpReceiver, startWebhookReceiver, verifySignature, waitFor } from '../support/event-receivers.js';
import type { System } from '../support/start-system.js';

const t = harness();
const SECRET = 'whsec-e2e-0123456789abcdef';

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  t.defer(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A shell script in `dir`, executable unless `mode` says otherwise. */
async function script(dir: string, name: string, body: string, mode = 0o755): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, `#!/bin/sh\n${body}\n`);
  await chmod(file, mode);
  return file;
}

describe('webhook action', () => {
  it('POSTs upload.completed, signed over the raw body, with the file it describes; the log and counters agree', async () => {
    const receiver = await startWebhookReceiver({ secret: SECRET });
    t.defer(() => receiver.close());
    const ferry = await t.ferry();
    await createFtpUser(ferry, 'alice');
    const ruleId = await createRule(ferry, {
      name: 'Uploads to the intake service',
      events: ['upload.completed'],
      actions: [{ kind: 'webhook', url: receiver.url }],
      secret: SECRET,
    });

    const payload = Buffer.from('order,qty\n42,7\n'.repeat(500));
    const client = await ftpLogin(ferry, 'alice');
    try {
      await client.ensureDir('/incoming');
      await upload(client, '/incoming/orders.csv', payload);
    } finally {
      client.close();
    }

    const [req] = await waitFor('the webhook request', () => (receiver.requests.length > 0 ? receiver.requests : null), {
      timeoutMs: 20_000,
      describe: async () => statusCounts(await allDeliveries(ferry)),
    });
    expect(receiver.requests).toHaveLength(1);
    // The receiver checked Ferry-Signature over the raw body with the rule's secret and a fresh timestamp.
    expect(req!.signatureOk, `Ferry-Signature: ${String(req!.headers['ferry-signature'])}`).toBe(true);
    expect(req!.status).toBe(200);
    expect(req!.headers['content-type']).toMatch(/^application\/json/);
    expect(req!.headers['ferry-event-type']).toBe('upload.completed');
    const body = req!.body!;
    expect(body).toMatchObject({ type: 'upload.completed', test: false, occurredAt: expect.any(Number) });
    expect(req!.headers['ferry-event-id']).toBe(body.id);
    expect(req!.headers['idempotency-key']).toBe(body.id);
    expect(body.data).toMatchObject({
      user: 'alice',
      path: '/incoming/orders.csv',
      size: payload.length,
      offset: 0,
      clientAddress: '127.0.0.1',
      sessionId: expect.any(String),
      durationMs: expect.any(Number),
    });
    // hostPath is the real file on the server, inside the data dir, with the uploaded size.
    const hostPath = body.data.hostPath as string;
    expect(path.isAbsolute(hostPath)).toBe(true);
    expect(existsSync(hostPath)).toBe(true);
    expect(statSync(hostPath).size).toBe(payload.length);
    expect(hostPath.endsWith(path.join('alice', 'incoming', 'orders.csv'))).toBe(true);
    // The check is real: the same header over another body, or with another secret, does not verify.
    const header = String(req!.headers['ferry-signature']);
    expect(verifySignature(header, req!.raw.replace('orders.csv', 'orders.csx'), SECRET)).toBe(false);
    expect(verifySignature(header, req!.raw, `${SECRET}-other`)).toBe(false);

    const delivered = await waitFor(
      'the delivery to be logged as delivered',
      async () => {
        const log = await allDeliveries(ferry, { eventId: body.id });
        return log.length === 1 && log[0]!.status === 'delivered' ? log[0]! : null;
      },
      { timeoutMs: 10_000, describe: async () => statusCounts(await allDeliveries(ferry)) },
    );
    expect(delivered).toMatchObject({ ruleId, actionKind: 'webhook', lastCode: 200, attempts: 1, lastError: null, output: 'thanks' });
    // The log shows the target without query or credentials, and the same event the receiver got.
    expect(delivered.target).toBe(receiver.url);
    expect(delivered.event).toEqual(body);

    const rule = await ferry.api('GET', `/api/v1/event-rules/${ruleId}`);
    expect(rule.status).toBe(200);
    expect(rule.body.counters).toEqual({ matched: 1, delivered: 1, failed: 0, pending: 0 });
    expect(rule.body.secretSet).toBe(true);
    expect(JSON.stringify(rule.body)).not.toContain(SECRET);
  });
});

describe('e-mail action', () => {
  it('mails a refused FTP login to the recipient through the SMTP server', async () => {
    const smtp = await startSmtpReceiver();
    t.defer(() => smtp.close());
    const ferry = await t.ferry({ FERRY_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`, FERRY_SMTP_FROM: 'Ferry <ferry@example.test>' });
    await createFtpUser(ferry, 'bob');
    const ruleId = await createRule(ferry, {
      name: 'Refused logins to the admins',
      events: ['login.failed'],
      actions: [{ kind: 'email', to: ['ops@example.test'] }],
    });

    const refused = await ftpLogin(ferry, 'bob', `${FTP_PASSWORD}-wrong`).then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(FTPError);
    expect((refused as FTPError).code).toBe(530);

    await waitFor('an e-mail at the SMTP server', () => smtp.messages.length > 0, {
      timeoutMs: 30_000,
      describe: async () => statusCounts(await allDeliveries(ferry)),
    });
    // One failed login, one message (give a duplicate a moment to show up).
    await new Promise((r) => setTimeout(r, 500));
    expect(smtp.messages).toHaveLength(1);
    const mail = smtp.messages[0]!;
    expect(mail.to).toEqual(['ops@example.test']);
    expect(mail.from).toBe('ferry@example.test');
    expect(mail.subject).toMatch(/FTP login was refused/);
    expect(mail.subject).toContain('bob');
    expect(mail.text).toContain('Event: login.failed');
    expect(mail.text).toMatch(/^user: bob$/m);
    expect(mail.text).toMatch(/^reason: bad-password$/m);

    const [delivery] = await waitFor(
      'the e-mail delivery to be logged as delivered',
      async () => {
        const log = await allDeliveries(ferry, { ruleId: String(ruleId) });
        return log.length === 1 && log[0]!.status === 'delivered' ? log : null;
      },
      { timeoutMs: 10_000, describe: async () => statusCounts(await allDeliveries(ferry)) },
    );
    expect(delivery).toMatchObject({ actionKind: 'email', target: 'ops@example.test', attempts: 1, lastError: null });
    expect(delivery!.event).toMatchObject({ type: 'login.failed', data: { user: 'bob', reason: 'bad-password' } });
    expect(mail.text).toContain(`Id: ${delivery!.event.id}`);
  });

  it('logs the connection error, not a delivery, when the SMTP server is unreachable', async () => {
    const closed = await freePort();
    const ferry = await t.ferry({ FERRY_SMTP_URL: `smtp://127.0.0.1:${closed}`, FERRY_SMTP_FROM: 'ferry@example.test' });
    await createFtpUser(ferry, 'bob');
    await createRule(ferry, { name: 'Refused logins', events: ['login.failed'], actions: [{ kind: 'email', to: ['ops@example.test'] }] });
    await ftpLogin(ferry, 'bob', 'not-the-password').then(
      (c) => c.close(),
      () => undefined,
    );

    const [delivery] = await waitFor(
      'the failed e-mail attempt in the log',
      async () => {
        const log = await allDeliveries(ferry);
        return log.length === 1 && log[0]!.attempts > 0 ? log : null;
      },
      { timeoutMs: 30_000, describe: async () => statusCounts(await allDeliveries(ferry)) },
    );
    expect(delivery!.status).not.toBe('delivered');
    expect(delivery!.deliveredAt).toBeNull();
    expect(delivery!.lastError).toMatch(/ECONNREFUSED/);
    const rule = await ferry.api('GET', `/api/v1/event-rules/${delivery!.ruleId}`);
    expect(rule.body.counters.delivered).toBe(0);
  });
});

describe('command action', () => {
  it('runs the allowed script with the event on stdin and the chosen fields as FERRY_* variables', async () => {
    const dir = await tempDir('ferry-command-');
    const outDir = path.join(dir, 'out');
    const hook = await script(
      dir,
      'on-folder.sh',
      [
        `mkdir -p '${outDir}'`,
        `cat > '${outDir}/stdin.json'`,
        // Ferry's own variables (its admin password here) must not reach the program.
        `printf '%s\\n' "$FERRY_PATH" "$FERRY_USER" "$FERRY_EVENT_TYPE" "\${FERRY_ADMIN_PASSWORD:-unset}" > '${outDir}/vars.txt'`,
        'echo "filed $FERRY_PATH"',
      ].join('\n'),
    );
    const ferry = await t.ferry({ FERRY_EVENT_COMMANDS: hook });
    await createFtpUser(ferry, 'carol');
    const ruleId = await createRule(ferry, {
      name: 'New folders to the filing script',
      events: ['folder.created'],
      actions: [{ kind: 'command', command: hook, env: ['path', 'user'] }],
    });

    const client = await ftpLogin(ferry, 'carol');
    try {
      await client.send('MKD reports-2026');
    } finally {
      client.close();
    }

    const [delivery] = await waitFor(
      'the command delivery to be done',
      async () => {
        const log = await allDeliveries(ferry, { ruleId: String(ruleId) });
        return log.length === 1 && log[0]!.attempts > 0 ? log : null;
      },
      { timeoutMs: 20_000, describe: async () => statusCounts(await allDeliveries(ferry)) },
    );
    expect(delivery, JSON.stringify(delivery)).toMatchObject({ status: 'delivered', lastCode: 0, lastError: null, target: hook });
    expect(delivery!.output).toBe('filed /reports-2026\n');

    const stdin = JSON.parse(await readFile(path.join(outDir, 'stdin.json'), 'utf8')) as {
      id: string;
      type: string;
      data: Record<string, unknown>;
    };
    expect(stdin).toMatchObject({ id: delivery!.event.id, type: 'folder.created', test: false });
    expect(stdin.data).toMatchObject({ user: 'carol', path: '/reports-2026', clientAddress: '127.0.0.1' });
    const hostPath = stdin.data.hostPath as string;
    expect(statSync(hostPath).isDirectory()).toBe(true);
    const vars = (await readFile(path.join(outDir, 'vars.txt'), 'utf8')).split('\n');
    expect(vars.slice(0, 4)).toEqual(['/reports-2026', 'carol', 'folder.created', 'unset']);
  });

  it('logs a script that exits 3 as not delivered, with its exit code and the end of its output', async () => {
    const dir = await tempDir('ferry-command-');
    const failing = await script(
      dir,
      'broken.sh',
      'cat > /dev/null\necho "starting"\necho "disk full: cannot file $FERRY_PATH" >&2\nexit 3',
    );
    const ferry = await t.ferry({ FERRY_EVENT_COMMANDS: failing });
    await createFtpUser(ferry, 'carol');
    await createRule(ferry, {
      name: 'Broken filing script',
      events: ['folder.created'],
      actions: [{ kind: 'command', command: failing, env: ['path'] }],
    });
    const client = await ftpLogin(ferry, 'carol');
    try {
      await client.send('MKD drafts');
    } finally {
      client.close();
    }

    const [delivery] = await waitFor(
      'the failed command attempt in the log',
      async () => {
        const log = await allDeliveries(ferry);
        return log.length === 1 && log[0]!.attempts > 0 ? log : null;
      },
      { timeoutMs: 20_000, describe: async () => statusCounts(await allDeliveries(ferry)) },
    );
    expect(delivery!.status).not.toBe('delivered');
    expect(delivery!.deliveredAt).toBeNull();
    expect(delivery!.lastCode).toBe(3);
    expect(delivery!.lastError).toMatch(/code 3/);
    expect(delivery!.output).toContain('starting');
    expect(delivery!.output).toContain('disk full: cannot file /drafts');
  });
});

describe('rules that cannot work are refused', () => {
  let ferry: System;
  const refusal = async (body: Record<string, unknown>) => {
    const res = await ferry.api('POST', '/api/v1/event-rules', body);
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    return res.body.error as { code: string; message: string; field?: string };
  };
  const hook = (url = 'http://127.0.0.1:9/hook') => ({ kind: 'webhook', url });

  it('names the field at fault', async () => {
    const dir = await tempDir('ferry-command-');
    const allowed = await script(dir, 'allowed.sh', 'exit 0');
    const notExecutable = await script(dir, 'not-executable.sh', 'exit 0', 0o644);
    const notListed = await script(dir, 'not-listed.sh', 'exit 0');
    ferry = await t.ferry({ FERRY_EVENT_COMMANDS: `${allowed},${notExecutable}` });
    const base = { name: 'Bad', events: ['upload.completed'] };

    const ftpUrl = await refusal({ ...base, actions: [hook('ftp://x')] });
    expect(ftpUrl.field).toBe('actions/0/url');
    expect(ftpUrl.message).toMatch(/ftp:/);

    const email = await refusal({ ...base, actions: [{ kind: 'email', to: ['ops@example.test'] }] });
    expect(email.field).toBe('actions/0/kind');
    expect(email.message).toMatch(/FERRY_SMTP_URL/);

    const unlisted = await refusal({ ...base, actions: [{ kind: 'command', command: notListed }] });
    expect(unlisted.field).toBe('actions/0/command');
    expect(unlisted.message).toMatch(/FERRY_EVENT_COMMANDS/);

    const noXBit = await refusal({ ...base, actions: [hook(), { kind: 'command', command: notExecutable }] });
    expect(noXBit.field).toBe('actions/1/command');
    expect(noXBit.message).toMatch(/not executable/);

    const unknownField = await refusal({ ...base, actions: [hook()], colour: 'red' });
    expect(unknownField.field).toBe('colour');
    expect(unknownField.message).toMatch(/not a known field/);
    const unknownInAction = await refusal({ ...base, actions: [{ ...hook(), retries: 3 }] });
    expect(unknownInAction.field).toMatch(/^actions\/0/);

    const paths = await refusal({ name: 'Bad', events: ['login.failed'], filters: { paths: ['/incoming/**'] }, actions: [hook()] });
    expect(paths.field).toBe('filters/paths');

    // Nothing was saved; the allowed program is accepted, which shows the refusals were about the fields.
    expect((await ferry.api('GET', '/api/v1/event-rules')).body).toEqual([]);
    await createRule(ferry, { ...base, actions: [{ kind: 'command', command: allowed }] });
  });
});
