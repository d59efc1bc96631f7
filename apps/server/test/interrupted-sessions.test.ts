/** Sessions a killed process left open are closed at the next start, at their last recorded activity. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { closeDb, createSessionRecorder, createSessionStore, createTranscriptStore, openDb } from '@ferry/db';
import { afterEach, describe, expect, it } from 'vitest';
import { closeInterruptedSessions, INTERRUPTED_REASON } from '../src/adapters/interrupted-sessions.js';

let dataDir = '';
afterEach(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const opened = (id: string, startedAt: number) => ({
  id,
  remoteAddress: '127.0.0.1',
  remotePort: 40000,
  localAddress: '127.0.0.1',
  localPort: 2121,
  startedAt,
  tls: false,
});

describe('closeInterruptedSessions', () => {
  it('closes only the sessions without an end, with their last activity as end time', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'ferry-interrupted-'));
    const file = path.join(dataDir, 'ferry.db');

    // The process that dies: one session finished, two still open (one of them with a transfer and lines).
    const before = openDb(file);
    const rec = createSessionRecorder(before);
    rec.sessionOpened(opened('done', 1000));
    rec.sessionClosed({ id: 'done', endedAt: 2000, reason: 'quit', bytesIn: 0, bytesOut: 0, filesIn: 0, filesOut: 0, outcome: 'ok' });
    rec.sessionOpened(opened('busy', 3000));
    for (let seq = 1; seq <= 3; seq++) rec.line({ sessionId: 'busy', seq, at: 3000 + seq * 100, kind: 'command', text: 'NOOP' });
    rec.transfer({ sessionId: 'busy', direction: 'upload', path: '/a.bin', bytes: 500, startedAt: 3100, durationMs: 50, outcome: 'ok' });
    rec.sessionOpened(opened('quiet', 4000));
    closeDb(before); // flushes, as a crash after the last flush would leave it

    const db = openDb(file);
    try {
      const stores = { sessions: createSessionStore(db), transcripts: createTranscriptStore(db), recorder: createSessionRecorder(db) };
      expect(await closeInterruptedSessions(stores)).toBe(2);
      expect(await stores.sessions.get('done')).toMatchObject({ endedAt: 2000, endReason: 'quit', outcome: 'ok' });
      expect(await stores.sessions.get('busy')).toMatchObject({
        endedAt: 3300,
        endReason: INTERRUPTED_REASON,
        outcome: 'problems',
        bytesIn: 500,
        filesIn: 1,
      });
      expect(await stores.sessions.get('quiet')).toMatchObject({ endedAt: 4000, endReason: INTERRUPTED_REASON, outcome: 'problems' });
      expect(await closeInterruptedSessions(stores)).toBe(0);
    } finally {
      closeDb(db);
    }
  });

  it('keeps a real end its node recorded while the sweep was closing the session', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'ferry-interrupted-'));
    const db = openDb(path.join(dataDir, 'ferry.db'));
    try {
      // The node taken for lost, back in time to record how its session really ended.
      const lostNode = createSessionRecorder(db);
      lostNode.sessionOpened(opened('late-quit', 1000));
      lostNode.line({ sessionId: 'late-quit', seq: 1, at: 1500, kind: 'command', text: 'NOOP' });
      await lostNode.flush();
      const sessions = createSessionStore(db);
      const stores = {
        // The real store; right after the sweep has read its page, the session's real end is recorded.
        sessions: {
          unfinished: async (...args: Parameters<typeof sessions.unfinished>) => {
            const page = await sessions.unfinished(...args);
            lostNode.sessionClosed({
              id: 'late-quit',
              endedAt: 9000,
              reason: 'quit',
              bytesIn: 0,
              bytesOut: 0,
              filesIn: 0,
              filesOut: 0,
              outcome: 'ok',
            });
            await lostNode.flush();
            return page;
          },
        },
        transcripts: createTranscriptStore(db),
        recorder: createSessionRecorder(db),
      };
      expect(await closeInterruptedSessions(stores)).toBe(1);
      expect(await sessions.get('late-quit')).toMatchObject({ endedAt: 9000, endReason: 'quit', outcome: 'ok' });
    } finally {
      closeDb(db);
    }
  });
});
