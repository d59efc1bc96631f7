import { describe, expect, it } from 'vitest';
import {
  closeDb,
  createAdminStore,
  createAuditStore,
  createAuthTokenStore,
  createBanStore,
  createFindingStore,
  createSessionRecorder,
  createSessionStore,
  createSettingsStore,
  createTranscriptStore,
  createUserStore,
  openDb,
  schemaVersion,
} from '../src/index.js';
import { openTempDb } from './helpers.js';

describe('restart', () => {
  it('finds everything written before close after reopening the file', async () => {
    const { db, file } = openTempDb();
    await createUserStore(db).create({ username: 'alice', password: 'alice-password', permissions: [{ path: '/in', allow: ['upload'] }] });
    const admin = await createAdminStore(db).create('root', 'root-password');
    const { token } = await createAuthTokenStore(db).issue(admin.id, 'api', { name: 'ci', expiresAt: null });
    await createSettingsStore(db).set({ banner: 'Hello' });
    await createBanStore(db).ban('192.0.2.1', 'flood', 60_000, Date.now());
    await createAuditStore(db).record({ at: 1, actor: 'root', action: 'user.create', target: 'alice', address: '::1', detail: null });
    const recorder = createSessionRecorder(db, { flushIntervalMs: 60_000 });
    recorder.sessionOpened({ id: 'r1', remoteAddress: '::1', remotePort: 5, localAddress: '::1', localPort: 21, startedAt: 10, tls: true });
    recorder.line({ sessionId: 'r1', seq: 1, at: 11, kind: 'command', text: 'USER alice' });
    recorder.transfer({ sessionId: 'r1', direction: 'upload', path: '/in/a.txt', bytes: 42, startedAt: 12, durationMs: 3, outcome: 'ok' });
    await createFindingStore(db).replace('r1', [
      { code: 'x', severity: 'info', title: 't', explanation: 'e', fix: 'f', evidence: [1], at: 13 },
    ]);
    // Still queued in the recorder: closeDb must flush it.
    recorder.line({ sessionId: 'r1', seq: 2, at: 14, kind: 'reply', text: '331 Password required' });
    recorder.sessionClosed({ id: 'r1', endedAt: 20, reason: 'quit', bytesIn: 42, bytesOut: 0, filesIn: 1, filesOut: 0, outcome: 'ok' });
    const version = schemaVersion(db);
    closeDb(db);

    const again = openDb(file);
    try {
      expect(schemaVersion(again)).toBe(version);
      expect((await createUserStore(again).verifyLogin('alice', 'alice-password')).ok).toBe(true);
      expect((await createUserStore(again).get('alice'))?.permissions).toEqual([{ path: '/in', allow: ['upload'] }]);
      expect(await createAdminStore(again).verify('root', 'root-password')).not.toBeNull();
      expect((await createAuthTokenStore(again).verify(token, Date.now()))?.username).toBe('root');
      expect(await createSettingsStore(again).get()).toEqual({ banner: 'Hello' });
      expect((await createBanStore(again).get('192.0.2.1'))?.reason).toBe('flood');
      expect((await createAuditStore(again).list({ limit: 10 })).items).toHaveLength(1);
      expect(await createSessionStore(again).get('r1')).toMatchObject({ tls: true, endedAt: 20, bytesIn: 42, filesIn: 1, findings: 1 });
      expect((await createTranscriptStore(again).lines('r1')).map((l) => l.text)).toEqual(['USER alice', '331 Password required']);
      expect(await createTranscriptStore(again).transfers('r1')).toHaveLength(1);
    } finally {
      closeDb(again);
    }
  });
});
