/**
 * Retention from outside: a Ferry started on a database with history older than the retention (30 days by
 * default) removes it — sessions with their transcripts, and old events of the outbox — keeps what is recent, and
 * logs what it removed. On SQLite this runs in the session recorder's thread (the built thread script, through
 * the recorder's messages), a thousand lines or events per transaction.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ON_POSTGRES, REPO_ROOT, startSystem } from '../support/start-system.js';

const DAY = 24 * 3_600_000;
const OLD_SESSIONS = 1_200;
const LINES_EACH = 5;
const OLD_EVENTS = 1_500;

/** The part of packages/db this test writes the old history with (imported from its build). */
interface DbModule {
  openDb(file: string): unknown;
  closeDb(db: unknown): void;
  createSessionRecorder(
    db: unknown,
    opts: { maxQueued: number; maxBatch: number },
  ): {
    sessionOpened(v: Record<string, unknown>): void;
    sessionClosed(v: Record<string, unknown>): void;
    line(v: Record<string, unknown>): void;
    event(v: Record<string, unknown>): void;
    close(): Promise<void>;
    stats(): { dropped: number };
  };
}

describe.skipIf(ON_POSTGRES)('retention (SQLite: in the session recorder’s thread)', () => {
  it('removes old sessions, their transcripts and old events at start, keeps recent ones, and logs the counts', async ({
    onTestFinished,
  }) => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'ferry-retention-'));
    onTestFinished(() => rm(dataDir, { recursive: true, force: true }));
    const db = (await import(pathToFileURL(path.join(REPO_ROOT, 'packages/db/dist/index.js')).href)) as DbModule;
    const handle = db.openDb(path.join(dataDir, 'ferry.db'));
    const recorder = db.createSessionRecorder(handle, { maxQueued: 100_000, maxBatch: 100_000 });
    const now = Date.now();
    const session = (id: string, at: number) => {
      recorder.sessionOpened({
        id,
        remoteAddress: '127.0.0.1',
        remotePort: 50_000,
        localAddress: '127.0.0.1',
        localPort: 21,
        startedAt: at,
        tls: false,
      });
      for (let seq = 1; seq <= LINES_EACH; seq++) recorder.line({ sessionId: id, seq, at: at + seq, kind: 'command', text: `NOOP ${seq}` });
      recorder.sessionClosed({ id, endedAt: at + 100, reason: 'quit', bytesIn: 0, bytesOut: 0, filesIn: 0, filesOut: 0, outcome: 'ok' });
    };
    for (let i = 0; i < OLD_SESSIONS; i++) session(`old-${i}`, now - 40 * DAY + i);
    session('recent', now - DAY);
    const event = (id: string, at: number) =>
      recorder.event({ id, type: 'upload.completed', occurredAt: at, test: false, data: { path: '/a' }, deliveries: [] });
    for (let i = 0; i < OLD_EVENTS; i++) event(`old-event-${i}`, now - 40 * DAY + i);
    event('recent-event', now - DAY);
    await recorder.close();
    expect(recorder.stats().dropped).toBe(0);
    db.closeDb(handle);

    const system = await startSystem({ dataDir });
    onTestFinished(() => system.stop('SIGKILL').then(() => undefined));
    const deadline = Date.now() + 60_000;
    let line: string | undefined;
    while (!line && Date.now() < deadline) {
      line = system.logs().find((l) => l.includes('Pruned old history'));
      if (!line) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(line, 'no "Pruned old history" line within 60 s').toBeDefined();
    expect(JSON.parse(line as string)).toMatchObject({
      sessions: OLD_SESSIONS,
      lines: OLD_SESSIONS * LINES_EACH,
      events: OLD_EVENTS,
      retentionDays: 30,
    });
    expect(system.logs().filter((l) => /"level":(50|60)|"level":"(error|fatal)"/.test(l))).toEqual([]);

    const history = await system.api('GET', '/api/v1/sessions/history?limit=50');
    expect(history.status).toBe(200);
    expect((history.body.items as { id: string }[]).map((s) => s.id)).toEqual(['recent']);
    const transcript = await system.api('GET', '/api/v1/sessions/recent/transcript');
    expect((transcript.body.items as { text: string }[]).map((l) => l.text)).toEqual(['NOOP 1', 'NOOP 2', 'NOOP 3', 'NOOP 4', 'NOOP 5']);
    expect((await system.api('GET', '/api/v1/sessions/old-0/transcript')).status).toBe(404);
    expect(await system.stop('SIGTERM')).toBe(0);
  });
});
