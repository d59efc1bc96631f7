import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { closeDatabase, createSessionRecorder, MigrationError, openPostgres, schemaVersion } from '../src/index.js';
import { MIGRATIONS_FOLDER, POSTGRES_MIGRATIONS_FOLDER, readMigrations } from '../src/migrate.js';
import { POSTGRES_SEARCH_VECTOR } from '../src/search/transcript-search.js';
import { tempDir } from './helpers.js';
// @ts-expect-error -- a plain ES module without types
import { createDatabase } from '../../../scripts/postgres-cluster.mjs';

const PACKAGE = fileURLToPath(new URL('..', import.meta.url));
let created = 0;

/** A new, empty database in the project's cluster; its URL. */
async function emptyDatabase(): Promise<string> {
  return createDatabase(inject('postgresUrl'), `ferry_migrate_${process.pid}_${++created}`) as string;
}

async function query<R = Record<string, unknown>>(url: string, text: string, values?: unknown[]): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as R[];
  } finally {
    await client.end();
  }
}

describe('PostgreSQL migrations', () => {
  it('create every table SQLite has, once, also when two nodes start together', async () => {
    const url = await emptyDatabase();
    const [a, b] = await Promise.all([openPostgres(url), openPostgres(url)]);
    onTestFinished(async () => {
      await closeDatabase(a);
      await closeDatabase(b);
    });
    const latest = readMigrations(POSTGRES_MIGRATIONS_FOLDER).at(-1)!.tag;
    expect(schemaVersion(a)).toBe(latest);
    expect(schemaVersion(b)).toBe(latest);
    const applied = await query<{ n: number }>(url, 'SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations');
    expect(applied[0]!.n).toBe(readMigrations(POSTGRES_MIGRATIONS_FOLDER).length);
    const tables = await query<{ name: string }>(url, `SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`);
    const sqliteTables = new Set(
      readMigrations(MIGRATIONS_FOLDER)
        .flatMap((m) => m.statements)
        .flatMap((s) => [...s.matchAll(/CREATE TABLE [`"]?(\w+)[`"]?/g)].map((m) => m[1]!))
        .filter((t) => !t.startsWith('__new_') && !t.startsWith('transcript_search')),
    );
    expect(tables.map((t) => t.name)).toEqual([...sqliteTables].sort());

    const again = await openPostgres(url);
    onTestFinished(() => closeDatabase(again));
    expect(schemaVersion(again)).toBe(latest);
    expect((await query<{ n: number }>(url, 'SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations'))[0]!.n).toBe(applied[0]!.n);
  });

  it('refuse a database written by a newer Ferry, and leave a failed migration undone', async () => {
    const url = await emptyDatabase();
    await closeDatabase(await openPostgres(url));
    await query(url, 'INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ($1, $2)', ['x', Date.now() + 1e9]);
    await expect(openPostgres(url)).rejects.toThrow(/newer than this build of Ferry/);

    const broken = join(tempDir(), 'migrations');
    cpSync(POSTGRES_MIGRATIONS_FOLDER, broken, { recursive: true });
    const fresh = await emptyDatabase();
    const journal = join(broken, 'meta', '_journal.json');
    const parsed = JSON.parse(readFileSync(journal, 'utf8')) as { entries: { tag: string; when: number; idx: number }[] };
    const last = parsed.entries.at(-1)!;
    parsed.entries.push({ ...last, idx: last.idx + 1, tag: '9999_broken', when: last.when + 1000 });
    writeFileSync(journal, JSON.stringify(parsed));
    writeFileSync(
      join(broken, '9999_broken.sql'),
      'CREATE TABLE half_done (id int);\n--> statement-breakpoint\nSELECT no_such_function();',
    );
    const failed = openPostgres(fresh, { migrationsFolder: broken });
    await expect(failed).rejects.toBeInstanceOf(MigrationError);
    await expect(failed).rejects.toThrow(/9999_broken failed at statement 2/);
    // All or nothing: not even the first migration's tables are there.
    expect(await query(fresh, `SELECT 1 FROM pg_tables WHERE schemaname = 'public'`)).toEqual([]);
  });

  it('are in step with the schema: drizzle-kit finds nothing to generate for either database', () => {
    for (const [dialect, schema, folder] of [
      ['sqlite', './src/schema/index.ts', MIGRATIONS_FOLDER],
      ['postgresql', './src/schema-postgres.ts', POSTGRES_MIGRATIONS_FOLDER],
    ] as const) {
      const out = join(tempDir(), 'out');
      cpSync(folder, out, { recursive: true });
      const before = readdirSync(out).length;
      const result = spawnSync('pnpm', ['exec', 'drizzle-kit', 'generate', '--dialect', dialect, '--schema', schema, '--out', out], {
        cwd: PACKAGE,
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(result.status, result.stderr).toBe(0);
      expect(readdirSync(out).length, `${dialect}: ${result.stdout}`).toBe(before);
    }
  }, 120_000);
});

describe('openPostgres', () => {
  it('reports a server that is not there as an error, and shows no password in the database name', async () => {
    await expect(openPostgres('postgres://ferry:secret@127.0.0.1:1/ferry')).rejects.toThrow(/ECONNREFUSED/);
    const url = new URL(await emptyDatabase());
    url.password = 'not-checked-by-trust-auth';
    const db = await openPostgres(url.toString());
    onTestFinished(() => closeDatabase(db));
    expect(db.file).not.toContain('not-checked');
  });
});

describe('PostgreSQL full-text search', () => {
  it('queries the expression its migration indexes, and the index is used', async () => {
    const migration = readFileSync(join(POSTGRES_MIGRATIONS_FOLDER, '0001_transcript-search.sql'), 'utf8');
    expect(migration).toContain(`USING gin (${POSTGRES_SEARCH_VECTOR})`);
    const url = await emptyDatabase();
    const db = await openPostgres(url);
    onTestFinished(() => closeDatabase(db));
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    onTestFinished(() => client.end());
    await client.query('SET enable_seqscan = off');
    const plan = await client.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN SELECT session_id FROM transcript_lines WHERE ${POSTGRES_SEARCH_VECTOR} @@ to_tsquery('simple', 'invoice')`,
    );
    expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toContain('transcript_lines_search_idx');
  });
});

describe('the session recorder on PostgreSQL', () => {
  it('counts batches being written against maxQueued: a database that hangs does not let the backlog grow', async () => {
    const url = await emptyDatabase();
    const db = await openPostgres(url);
    onTestFinished(() => closeDatabase(db));
    const recorder = createSessionRecorder(db, { flushIntervalMs: 60_000, maxBatch: 50, maxQueued: 100 });
    recorder.sessionOpened({
      id: 'slow',
      remoteAddress: '127.0.0.1',
      remotePort: 50_000,
      localAddress: '127.0.0.1',
      localPort: 2121,
      startedAt: 1_000,
      tls: false,
    });
    await recorder.flush();
    // Another connection holds the lines' table: every write of the recorder waits (no error, no timeout).
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    onTestFinished(() => holder.end());
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE transcript_lines IN ACCESS EXCLUSIVE MODE');
    let seq = 0;
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 50; i++) recorder.line({ sessionId: 'slow', seq: ++seq, at: seq, kind: 'reply', text: '200 ok' });
      await sleep(20); // the full batch is handed on (early flush)
    }
    const stuck = recorder.stats();
    expect(stuck.queued).toBeLessThanOrEqual(100);
    expect(stuck.dropped).toBeGreaterThanOrEqual(400);
    expect(stuck.queued + stuck.dropped).toBe(500);
    await holder.query('ROLLBACK');
    await recorder.flush();
    const rows = await query<{ n: string }>(url, `SELECT count(*) AS n FROM transcript_lines WHERE session_id = 'slow'`);
    expect(Number(rows[0]?.n)).toBe(500 - stuck.dropped);
    expect(recorder.stats()).toMatchObject({ queued: 0, dropped: stuck.dropped });
    await recorder.close();
  });
});
