/**
 * Start-up does not read the history: with 300,000 sessions and 600,000 transcript lines in the database,
 * Ferry listens about as fast as with an empty one, and the sessions a dead process left open (and only
 * those) are closed as interrupted, ending at their last recorded activity. Real process, real SQLite file.
 */
import { copyFile, mkdtemp, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startSystem, type System } from '../support/start-system.js';

const SESSIONS = 300_000;
const UNFINISHED = 40;
const dirs: string[] = [];
const systems: System[] = [];

afterAll(async () => {
  for (const s of systems) await s.stop().catch(() => undefined);
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

type Sqlite = new (file: string) => { exec(sql: string): void; prepare(sql: string): { get(...a: unknown[]): unknown }; close(): void };
const Database = createRequire(path.join(REPO_ROOT, 'packages/db/package.json'))('better-sqlite3') as Sqlite;

/** Starts Ferry on `dataDir` and returns how long it took to print "Ferry listening". */
async function timedStart(dataDir: string): Promise<number> {
  const started = performance.now();
  const system = await startSystem({ dataDir });
  systems.push(system);
  const ms = performance.now() - started;
  expect(await system.stop()).toBe(0);
  systems.splice(systems.indexOf(system), 1);
  return ms;
}

describe('start-up with a large history', () => {
  it('listens about as fast as with an empty history and closes only the unfinished sessions', async () => {
    const empty = await mkdtemp(path.join(tmpdir(), 'ferry-start-empty-'));
    const big = await mkdtemp(path.join(tmpdir(), 'ferry-start-big-'));
    dirs.push(empty, big);
    await timedStart(big); // creates the schema
    const now = Date.now();
    const db = new Database(path.join(big, 'ferry.db'));
    try {
      db.exec(`
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${SESSIONS})
        INSERT INTO sessions (id, username, client_address, client_port, server_address, server_port, started_at, ended_at, end_reason, outcome)
        SELECT printf('s-%07d', i), 'user' || (i % 50), '203.0.113.' || (i % 200), 40000 + (i % 20000), '198.51.100.1', 21,
               ${now - 86_400_000} + i * 100, CASE WHEN i % (${SESSIONS} / ${UNFINISHED}) = 0 THEN NULL ELSE ${now - 86_400_000} + i * 100 + 50 END,
               CASE WHEN i % (${SESSIONS} / ${UNFINISHED}) = 0 THEN NULL ELSE 'quit' END,
               CASE WHEN i % (${SESSIONS} / ${UNFINISHED}) = 0 THEN NULL ELSE 'ok' END
        FROM n;
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${SESSIONS})
        INSERT INTO transcript_lines (session_id, seq, at, kind, text)
        SELECT printf('s-%07d', i), k.seq, ${now - 86_400_000} + i * 100 + k.seq * 10, 'command', 'NOOP'
        FROM n, (SELECT 1 AS seq UNION ALL SELECT 2) AS k;`);
      const open = db.prepare('SELECT count(*) AS n FROM sessions WHERE ended_at IS NULL').get() as { n: number };
      expect(open.n).toBe(UNFINISHED);
    } finally {
      db.close();
    }

    // Each the quicker of two starts (a busy machine adds a second here and there to one start of Node); the big
    // history starts twice from the same file, unfinished sessions included.
    const emptyMs = Math.min(await timedStart(empty), await timedStart(empty));
    const asFilled = path.join(big, 'ferry.db.as-filled');
    await copyFile(path.join(big, 'ferry.db'), asFilled);
    const firstBigMs = await timedStart(big);
    for (const rest of ['ferry.db-wal', 'ferry.db-shm']) await rm(path.join(big, rest), { force: true }); // of the stopped run
    await rename(asFilled, path.join(big, 'ferry.db'));
    const bigMs = Math.min(firstBigMs, await timedStart(big));
    console.log(`start-up: empty history ${Math.round(emptyMs)} ms, ${SESSIONS} sessions ${Math.round(bigMs)} ms`);
    // Same machine, same run: the history may add noise, not seconds.
    expect(bigMs - emptyMs).toBeLessThan(1_500);

    const after = new Database(path.join(big, 'ferry.db'));
    try {
      const left = after.prepare('SELECT count(*) AS n FROM sessions WHERE ended_at IS NULL').get() as { n: number };
      expect(left.n).toBe(0);
      const interrupted = after.prepare("SELECT count(*) AS n FROM sessions WHERE end_reason = 'interrupted'").get() as { n: number };
      expect(interrupted.n).toBe(UNFINISHED);
      const one = after.prepare("SELECT started_at AS s, ended_at AS e FROM sessions WHERE end_reason = 'interrupted' LIMIT 1").get() as {
        s: number;
        e: number;
      };
      expect(one.e).toBe(one.s + 20); // its last transcript line
    } finally {
      after.close();
    }
  }, 120_000);
});
