/**
 * `ferry migrate-db` in process (migrateDb with a CommandIo), from SQLite into a throwaway PostgreSQL cluster
 * (scripts/postgres-cluster.mjs): a database with 10,000 recorded sessions and every kind of account data arrives
 * whole (every table's count, transcripts line by line, a user's effective settings, the history search), and new
 * ids continue past the copied ones. Refused: a target that holds Ferry data or has a newer schema, an unreachable
 * one (without printing the password), a missing database; a row PostgreSQL rejects halfway leaves the target empty.
 * test/cli/migrate-db.test.ts runs the built command against a real Ferry.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import {
  createNodeStore,
  closeDatabase,
  createAdminStore,
  createAuditStore,
  createAuthTokenStore,
  createBanStore,
  createEventStore,
  createFindingStore,
  createFolderStore,
  createGroupStore,
  createProbeStore,
  createSessionRecorder,
  createSessionStore,
  createSettingsStore,
  createTranscriptStore,
  createUserStore,
  openDb,
  openPostgres,
  type Db,
  type FindingRecord,
} from '@ferry/db';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain ES module without types, shared with the database package's tests
import { startPostgresCluster } from '../../../scripts/postgres-cluster.mjs';
import { migrateDb } from '../src/commands/migrate-db.js';
import { CommandFailure, type CommandIo } from '../src/commands/io.js';

const PASSWORD = 'pg-app-secret-7731';
const SESSIONS = 10_000;
/** The one session whose transcript holds the word searched for (one with an upload: see fill). */
const ZEBRA = 's-04236';
/** A session whose argument held a NUL character (an FTP client may send one; SQLite keeps it, PostgreSQL cannot). */
const NUL_SESSION = 's-00007';
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 5);

let cluster: { url: string; stop(): void } | undefined;
const dirs: string[] = [];

/** Runs SQL in the cluster's maintenance database as its superuser. */
async function admin(query: string): Promise<void> {
  const client = new pg.Client({ connectionString: cluster!.url });
  await client.connect();
  try {
    await client.query(query);
  } finally {
    await client.end();
  }
}

/** A new database owned by ferry_app; its URL, with the password. */
async function newDatabase(name: string): Promise<string> {
  await admin(`CREATE DATABASE ${name} OWNER ferry_app`);
  const url = new URL(cluster!.url);
  url.username = 'ferry_app';
  url.password = PASSWORD;
  url.pathname = `/${name}`;
  return url.toString();
}

async function query<T>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows as T[];
  } finally {
    await client.end();
  }
}

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ferry-migrate-db-'));
  dirs.push(dir);
  return dir;
}

/** migrateDb on `dir`'s data folder; what it printed, and the refusal (CommandFailure) if any. */
async function migrate(dir: string, url: string): Promise<{ out: string; failure: string | null }> {
  let out = '';
  const io: CommandIo = { env: { FERRY_DATA_DIR: dir }, cwd: dir, out: (text) => (out += text), err: (text) => (out += text) };
  try {
    await migrateDb(io, url);
    return { out, failure: null };
  } catch (error) {
    if (error instanceof CommandFailure) return { out, failure: error.message };
    throw error;
  }
}

const FINDING: FindingRecord = {
  code: 'passive-data-never-arrived',
  severity: 'warning',
  title: 'The data connection never arrived',
  explanation: 'PASV was answered, and nothing connected.',
  fix: 'Open the passive ports in the firewall.',
  evidence: [3, 4],
  at: T0,
};

/** Accounts, settings and history as a long-running installation has them: a row in every table. */
async function fill(db: Db): Promise<void> {
  const folders = createFolderStore(db);
  await folders.create({ name: 'shared', hostDir: '/srv/ftp/shared', description: 'Shared with customers', quotaBytes: 10_000_000 });
  await folders.create({ name: 'archive', hostDir: 'archive' });
  const groups = createGroupStore(db);
  await groups.create({
    name: 'staff',
    permissions: [{ path: '/', allow: ['list', 'download', 'upload'] }],
    quotaBytes: 5_000_000,
    maxSessions: 4,
    mounts: [{ folder: 'archive', path: '/archive', allow: ['list', 'download'] }],
  });
  await groups.create({ name: 'ops', tls: 'required', allowedCidrs: ['203.0.113.0/24'], uploadBytesPerSecond: 1_000_000 });
  const users = createUserStore(db);
  await users.create({
    username: 'alice',
    password: 'alice-ftp-password',
    groups: ['ops', 'staff'],
    permissions: [
      { path: '/', allow: ['list', 'download'] },
      { path: '/incoming', allow: ['list', 'upload', 'mkdir'] },
    ],
    mounts: [{ folder: 'shared', path: '/shared', allow: null }],
    quotaFiles: 900,
    expiresAt: T0 + 365 * DAY,
  });
  await users.create({ username: 'bob', password: 'bob-ftp-password', allowedCidrs: ['198.51.100.7/32'] });
  // Deleted again: SQLite never hands out its id again, and neither does PostgreSQL after the copy.
  await users.create({ username: 'temp', password: 'temp-ftp-password' });
  await users.create({ username: 'carol', password: 'carol-ftp-password', enabled: false, tls: 'off' });
  await users.remove('temp');

  const admins = createAdminStore(db);
  const ann = await admins.create('ann', 'ann-admin-password', 'owner');
  await admins.create('vic', 'vic-admin-password', 'viewer');
  await admins.beginTotp(ann.id, 'JBSWY3DPEHPK3PXP');
  await admins.confirmTotp(ann.id, 100, ['aaaa-bbbb-cccc-dddd', 'eeee-ffff-gggg-hhhh']);
  const tokens = createAuthTokenStore(db);
  await tokens.issue(ann.id, 'api', { name: 'deploy', expiresAt: null, role: 'viewer' });
  await tokens.issue(ann.id, 'session', { expiresAt: T0 + DAY, address: '192.0.2.1', userAgent: 'Firefox' });
  await createSettingsStore(db).set({ welcomeMessage: 'Ferry for ACME', idleTimeoutSeconds: 600, denyList: null });
  await createBanStore(db).ban('203.0.113.9', 'too many failed logins', 3_600_000, T0);
  await createAuditStore(db).record({ at: T0, actor: 'ann', action: 'user.create', target: 'alice', address: '192.0.2.1', detail: null });
  await createProbeStore(db).create({ createdAt: T0, expiresAt: T0 + DAY, maxSessions: 3, createdBy: 'ann', note: 'for ACME' });
  const events = createEventStore(db);
  const rule = await events.createRule({
    name: 'uploads to ACME',
    enabled: true,
    events: ['upload.completed'],
    filters: { users: ['alice'], groups: [], paths: [], networks: [], findingCodes: [], minSeverity: null, minBytes: null },
    actions: [{ id: 'hook', kind: 'webhook', url: 'http://127.0.0.1:9/hook' }],
    secret: 'webhook-signing-secret',
  });
  await events.enqueue({
    id: '0b9c1f0e-7a57-4a0e-9d1c-5b0b4b7a1c01',
    type: 'upload.completed',
    occurredAt: T0,
    test: false,
    data: { path: '/incoming/report.csv', bytes: 2048 },
    deliveries: [
      {
        ruleId: rule.id,
        ruleName: rule.name,
        actionId: 'hook',
        actionKind: 'webhook',
        target: 'http://127.0.0.1:9/hook',
        nextAttemptAt: T0,
      },
    ],
  });
  await events.setMark('certificate-expiry-warned', '2026-03-01');
  await createNodeStore(db).start(
    { name: 'ferry-1', version: '1.0.0', ftpAddress: null, ftpPort: 21, ftpsPort: null, httpPort: 8080, sessions: 0 },
    T0,
  );

  // The history: SESSIONS sessions of a few lines each, some with a transfer, every one with a login.
  const recorder = createSessionRecorder(db, { maxQueued: 100_000, node: 'ferry-1' });
  const usernames = ['alice', 'bob', 'carol', 'mallory'];
  for (let i = 0; i < SESSIONS; i++) {
    const id = `s-${String(i).padStart(5, '0')}`;
    const at = T0 + i * 60_000;
    const username = usernames[i % usernames.length]!;
    const ok = username === 'alice' || username === 'bob';
    const upload = ok && i % 3 === 0;
    const file = id === ZEBRA ? 'zebra-crossing.csv' : `invoice-${i}.pdf`;
    recorder.sessionOpened({
      id,
      remoteAddress: `198.51.100.${i % 250}`,
      remotePort: 40_000 + (i % 1000),
      localAddress: '192.0.2.10',
      localPort: 21,
      startedAt: at,
      tls: i % 3 === 0,
    });
    recorder.sessionUpdated({ id, username, tls: i % 3 === 0, clientSoftware: i % 2 ? 'FileZilla 3.67' : null });
    const lines: [string, 'command' | 'reply' | 'event', object?][] = [
      [`USER ${id === NUL_SESSION ? 'bo\0b' : username}`, 'command'],
      ['331 Password required', 'reply'],
      ['PASS ****', 'command'],
      [ok ? '230 Logged in' : '530 Login incorrect', 'reply'],
    ];
    if (upload) {
      lines.push(
        [`STOR ${file}`, 'command'],
        ['150 Opening data connection', 'reply'],
        [`upload ${file}`, 'event', { kind: 'transfer', path: `/${file}` }],
        ['226 Transfer complete', 'reply'],
      );
    }
    lines.push(['QUIT', 'command'], ['221 Goodbye', 'reply']);
    lines.forEach(([text, kind, event], n) =>
      recorder.line({ sessionId: id, seq: n + 1, at: at + n * 10, kind, text, ...(event ? { event } : {}) }),
    );
    recorder.login({ at: at + 30, sessionId: id, username, address: `198.51.100.${i % 250}`, ok, reason: ok ? null : 'bad-password' });
    if (upload) {
      recorder.transfer({
        sessionId: id,
        direction: 'upload',
        path: `/${file}`,
        bytes: 1000 + i,
        startedAt: at + 50,
        durationMs: 20,
        outcome: 'ok',
      });
    }
    recorder.sessionClosed({
      id,
      endedAt: at + 5_000,
      reason: 'quit',
      bytesIn: upload ? 1000 + i : 0,
      bytesOut: 0,
      filesIn: upload ? 1 : 0,
      filesOut: 0,
      outcome: ok ? 'ok' : 'login-failed',
    });
    if (i % 1000 === 999) await recorder.flush();
  }
  await recorder.close();
  expect(recorder.stats().dropped).toBe(0);
  await createFindingStore(db).replaceMany(
    Array.from(
      { length: 100 },
      (_, k) => [`s-${String(k * 97).padStart(5, '0')}`, [FINDING, { ...FINDING, code: 'slow-login', severity: 'info' as const }]] as const,
    ),
  );
}

/** Ferry's tables in SQLite (not its migrations' bookkeeping nor the full-text index's own tables) with their rows. */
function sqliteCounts(file: string): Map<string, number> {
  const sqlite = new DatabaseSync(file, { readOnly: true });
  try {
    const tables = sqlite
      .prepare(
        `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '__drizzle%' AND name NOT LIKE 'transcript_search%' ORDER BY name`,
      )
      .all() as { name: string }[];
    return new Map(
      tables.map(({ name }) => [name, Number((sqlite.prepare(`SELECT count(*) AS n FROM "${name}"`).get() as { n: number }).n)]),
    );
  } finally {
    sqlite.close();
  }
}

async function postgresCounts(url: string, tables: Iterable<string>): Promise<Map<string, number>> {
  const names = [...tables];
  const rows = await query<{ name: string; n: string }>(
    url,
    names.map((name) => `SELECT '${name}' AS name, count(*) AS n FROM "${name}"`).join(' UNION ALL '),
  );
  return new Map(rows.map((r) => [r.name, Number(r.n)]));
}

// The project "server on postgres" runs this folder again; the test brings its own cluster, so once is enough.
describe.skipIf(process.env.FERRY_TEST_DATABASE === 'postgres')('ferry migrate-db', () => {
  let source = '';
  let sourceFile = '';
  let url = '';

  beforeAll(async () => {
    cluster = (await startPostgresCluster()) as { url: string; stop(): void };
    await admin(`CREATE ROLE ferry_app LOGIN PASSWORD '${PASSWORD}'`);
    source = await dataDir();
    sourceFile = path.join(source, 'ferry.db');
    const db = openDb(sourceFile);
    try {
      await fill(db);
    } finally {
      await closeDatabase(db);
    }
    url = await newDatabase('ferry_moved');
  }, 120_000);

  afterAll(async () => {
    cluster?.stop();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('copies every table of 10,000 sessions and their accounts; identities continue past the copied ids', async () => {
    const started = Date.now();
    const run = await migrate(source, url);
    const seconds = (Date.now() - started) / 1000;
    expect(run.failure).toBeNull();
    expect(seconds, 'the copy of 10,000 sessions').toBeLessThan(60);

    const before = sqliteCounts(sourceFile);
    expect(before.size).toBe(23);
    for (const [table, rows] of before) expect(rows, `rows in ${table} (the fixture fills every table)`).toBeGreaterThan(0);
    expect(before.get('sessions')).toBe(SESSIONS);
    expect(await postgresCounts(url, before.keys())).toEqual(before);

    expect(run.out).toContain(`Copying ${sourceFile} (schema `);
    expect(run.out).toMatch(/^ {2}transcript_lines +\d+ rows$/m);
    expect(run.out).toMatch(/^ {2}bans +1 row$/m);
    expect(run.out).toMatch(/^ {2}sessions +10000 rows$/m);
    const total = [...before.values()].reduce((a, b) => a + b, 0);
    expect(run.out).toContain(`Copied ${total} rows of 23 tables in `);
    expect(run.out).toContain('NUL characters, which PostgreSQL cannot store, were written as U+FFFD in 1 text value(s).');
    expect(run.out).not.toContain(PASSWORD);
    expect(run.out).toContain('postgres://ferry_app@127.0.0.1:');

    const sqlite = openDb(sourceFile);
    const moved = await openPostgres(url);
    try {
      // Transcripts and transfers line by line, for sessions spread over the history, and their records.
      for (let k = 0; k < 20; k++) {
        const id = `s-${String(k * 499 + 1).padStart(5, '0')}`;
        const lines = await createTranscriptStore(sqlite).lines(id);
        expect(lines.length).toBeGreaterThan(5);
        expect(await createTranscriptStore(moved).lines(id)).toEqual(lines);
        expect(await createTranscriptStore(moved).transfers(id)).toEqual(await createTranscriptStore(sqlite).transfers(id));
        expect(await createSessionStore(moved).get(id)).toEqual(await createSessionStore(sqlite).get(id));
      }
      const withFindings = await createSessionStore(moved).get('s-00097');
      expect(withFindings).toMatchObject({ findings: 2, worstSeverity: 'warning' });
      const eventLine = (await createTranscriptStore(moved).lines('s-00000')).find((l) => l.kind === 'event');
      expect(eventLine).toMatchObject({ text: 'upload invoice-0.pdf', event: { kind: 'transfer', path: '/invoice-0.pdf' } });
      const nul = await createTranscriptStore(moved).lines(NUL_SESSION);
      expect(nul[0]?.text).toBe('USER bo\uFFFDb');

      // Accounts: a user's settings as their groups, mounts and rules make them; settings, admins, rules.
      expect(await createUserStore(moved).effective('alice')).toEqual(await createUserStore(sqlite).effective('alice'));
      expect(await createUserStore(moved).list({ limit: 10 })).toEqual(await createUserStore(sqlite).list({ limit: 10 }));
      expect(await createGroupStore(moved).list()).toEqual(await createGroupStore(sqlite).list());
      expect(await createSettingsStore(moved).get()).toEqual(await createSettingsStore(sqlite).get());
      expect(await createFolderStore(moved).list()).toEqual(await createFolderStore(sqlite).list());
      expect(await createBanStore(moved).list(T0)).toEqual(await createBanStore(sqlite).list(T0));
      expect(await createAdminStore(moved).list()).toEqual(await createAdminStore(sqlite).list());
      expect(await createAuthTokenStore(moved).listApi()).toEqual(await createAuthTokenStore(sqlite).listApi());
      expect(await createAuditStore(moved).list({ limit: 10 })).toEqual(await createAuditStore(sqlite).list({ limit: 10 }));
      expect(await createProbeStore(moved).list()).toEqual(await createProbeStore(sqlite).list());
      expect(await createEventStore(moved).listRules()).toEqual(await createEventStore(sqlite).listRules());
      const deliveries = { limit: 10 };
      expect(await createEventStore(moved).listDeliveries(deliveries)).toEqual(await createEventStore(sqlite).listDeliveries(deliveries));
      expect(await createEventStore(moved).mark('certificate-expiry-warned')).toBe('2026-03-01');

      // The history search runs on PostgreSQL's own index.
      const search = async (db: Db, q: string) => (await createSessionStore(db).history({ q, limit: 5 })).items.map((s) => s.id);
      expect(await search(moved, 'zebra')).toEqual([ZEBRA]);
      expect(await search(moved, 'invoice')).toEqual(await search(sqlite, 'invoice'));

      // New rows after the copy: ids past the copied ones, and past the id SQLite had handed out to a deleted user.
      await createUserStore(moved).create({ username: 'erin', password: 'erin-ftp-password' });
      const [erin] = await query<{ id: string }>(url, `SELECT id FROM users WHERE username = 'erin'`);
      const sequence = new DatabaseSync(sourceFile, { readOnly: true });
      const handedOut = Number((sequence.prepare(`SELECT seq FROM sqlite_sequence WHERE name = 'users'`).get() as { seq: number }).seq);
      sequence.close();
      expect(handedOut).toBe(4);
      expect(Number(erin!.id)).toBe(handedOut + 1);
      const recorder = createSessionRecorder(moved);
      recorder.sessionOpened({
        id: 's-after',
        remoteAddress: '198.51.100.1',
        remotePort: 1,
        localAddress: '192.0.2.10',
        localPort: 21,
        startedAt: T0 + 30 * DAY,
        tls: false,
      });
      recorder.line({ sessionId: 's-after', seq: 1, at: T0 + 30 * DAY, kind: 'command', text: 'USER alice' });
      await recorder.close();
      expect(recorder.stats()).toMatchObject({ written: 2, dropped: 0 });
      const [line] = await query<{ id: string; max: string }>(
        url,
        `SELECT id, (SELECT max(id) FROM transcript_lines WHERE session_id <> 's-after') AS max FROM transcript_lines WHERE session_id = 's-after'`,
      );
      expect(Number(line!.id)).toBeGreaterThan(Number(line!.max));
    } finally {
      await closeDatabase(moved);
      await closeDatabase(sqlite);
    }

    // Again into the same database: refused, as it now holds Ferry data.
    const again = await migrate(source, url);
    expect(again.failure).toMatch(
      /^The PostgreSQL database already holds Ferry data \(rows in users, groups, .*sessions.*\); it is copied into an empty database only\. Nothing was written to postgres:\/\/ferry_app@127\.0\.0\.1:\d+\/ferry_moved\.$/,
    );
    expect(again.failure).not.toContain(PASSWORD);
    expect(await postgresCounts(url, ['users'])).toEqual(new Map([['users', 4]]));
  }, 120_000);

  it('refuses a target with an admin of its own, and one with a newer schema, changing nothing', async () => {
    const used = await newDatabase('ferry_used');
    const db = await openPostgres(used);
    await createAdminStore(db).create('someone', 'someone-else-password');
    await closeDatabase(db);
    const run = await migrate(source, used);
    expect(run.failure).toContain('already holds Ferry data (rows in admins)');
    expect(run.out).not.toContain('rows');
    expect(await postgresCounts(used, ['admins', 'users', 'sessions'])).toEqual(
      new Map([
        ['admins', 1],
        ['sessions', 0],
        ['users', 0],
      ]),
    );

    const newer = await newDatabase('ferry_newer');
    await closeDatabase(await openPostgres(newer));
    await query(newer, `INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('from a newer Ferry', 9999999999999)`);
    const refused = await migrate(source, newer);
    expect(refused.failure).toMatch(
      /^postgres:\/\/ferry_app@127\.0\.0\.1:\d+\/ferry_newer: The database schema \(unknown \(9999999999999\)\) is newer than this build of Ferry knows/,
    );
    expect(await postgresCounts(newer, ['users'])).toEqual(new Map([['users', 0]]));
  });

  it('refuses an unreachable target without printing its password, and a data folder without a database', async () => {
    const closed = new URL(cluster!.url);
    closed.port = '1';
    closed.username = 'ferry_app';
    closed.password = PASSWORD;
    const run = await migrate(source, closed.toString());
    expect(run.failure).toMatch(/^Cannot open the PostgreSQL database postgres:\/\/ferry_app@127\.0\.0\.1:1\/postgres: .*ECONNREFUSED/);
    expect(run.failure).not.toContain(PASSWORD);
    expect(run.out).toBe('');

    const empty = await dataDir();
    const none = await migrate(empty, closed.toString());
    expect(none.failure).toBe(
      `There is no SQLite database at ${path.join(empty, 'ferry.db')} (FERRY_DATA_DIR=${empty}): nothing to migrate.`,
    );
    expect(existsSync(path.join(empty, 'ferry.db'))).toBe(false);
  });

  it('a row PostgreSQL refuses halfway through: the message names the table, and the target stays empty', async () => {
    const dir = await dataDir();
    const file = path.join(dir, 'ferry.db');
    const db = openDb(file);
    const recorder = createSessionRecorder(db);
    for (const id of ['a', 'b']) {
      recorder.sessionOpened({
        id,
        remoteAddress: '198.51.100.1',
        remotePort: 1,
        localAddress: '192.0.2.10',
        localPort: 21,
        startedAt: T0,
        tls: false,
      });
      recorder.line({ sessionId: id, seq: 1, at: T0, kind: 'command', text: 'RETR report.csv' });
      recorder.transfer({
        sessionId: id,
        direction: 'download',
        path: '/report.csv',
        bytes: 10,
        startedAt: T0,
        durationMs: 1,
        outcome: 'ok',
      });
    }
    await recorder.close();
    await closeDatabase(db);
    // SQLite keeps whatever a column is given; PostgreSQL's bigint does not take this.
    const sqlite = new DatabaseSync(file);
    sqlite.exec(`UPDATE transfers SET bytes = 'lots' WHERE session_id = 'b'`);
    sqlite.close();

    const target = await newDatabase('ferry_halfway');
    const run = await migrate(dir, target);
    expect(run.failure).toMatch(
      /^Copying transfers failed after 0 rows: invalid input syntax for type bigint: "lots"\. Nothing was written to /,
    );
    expect(run.out).toMatch(/^ {2}transcript_lines +2 rows$/m);
    expect(await postgresCounts(target, ['sessions', 'transcript_lines', 'transfers'])).toEqual(
      new Map([
        ['sessions', 0],
        ['transcript_lines', 0],
        ['transfers', 0],
      ]),
    );
  });
});
