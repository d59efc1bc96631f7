/**
 * Crash safety: Ferry is killed with SIGKILL while four uploads run (three new files and one replacement)
 * and a busy session writes its transcript. Afterwards the database passes integrity_check, the sessions
 * recorded before the kill are in the history, no file sits under its final name with partial content,
 * and the next Ferry on the same data dir starts cleanly, hides the leftover temporary files and removes
 * them when it comes across them.
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startSystem, type System } from '../support/start-system.js';
import { createUser, homeOf, importDb, integrityCheck, patchSettings } from './support/admin.js';
import { collect, RawFtp, payload, sha256 } from './support/raw-ftp.js';

const USER = { username: 'carla', password: 'carla-password', uploadBytesPerSecond: 1_000_000 };
const BIG = 8_000_000; // at 1 MB/s an upload of this size is still running when the kill comes

let system: System | undefined;
let dataDir = '';
const clients: RawFtp[] = [];
afterAll(async () => {
  for (const c of clients) c.close();
  await system?.stop('SIGKILL').catch(() => undefined);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function login(port: number): Promise<RawFtp> {
  const c = await RawFtp.login(port, USER.username, USER.password);
  clients.push(c);
  return c;
}

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('kill -9 during uploads and transcript writing', () => {
  it('restarts on a consistent database with no half-written file under its final name', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'ferry-crash-'));
    system = await startSystem({ dataDir });
    await createUser(system, USER);
    await patchSettings(system, { maxCommandsPerSecond: 100_000 });
    const home = homeOf(system, USER.username);

    // Finished work before the crash: three complete files (one of them is replaced later), in finished sessions.
    const done = new Map<string, Buffer>([0, 1, 2].map((i) => [`done-${i}.bin`, payload(50_000 + i, 100 + i)]));
    const finishedSessions: string[] = [];
    for (const [name, body] of done) {
      const c = await login(system.ftpPort);
      expect((await c.upload(name, body)).code).toBe(226);
      await c.quit();
    }
    await until(async () => {
      const res = await system!.api('GET', '/api/v1/sessions/history?user=carla');
      finishedSessions.splice(
        0,
        Infinity,
        ...(res.body.items as { id: string; endedAt: number | null }[]).filter((s) => s.endedAt !== null).map((s) => s.id),
      );
      return finishedSessions.length === 3;
    }, 'three finished sessions in the history');

    // The crash: four slow uploads and a chatty session, then SIGKILL.
    const uploads = await Promise.all(
      ['new-0.bin', 'new-1.bin', 'new-2.bin', 'done-1.bin'].map(async (name, i) => {
        const c = await login(system!.ftpPort);
        const data = await c.openData();
        data.on('error', () => undefined);
        expect((await c.send(`STOR ${name}`)).code).toBe(150);
        data.end(payload(BIG, 200 + i));
        return c;
      }),
    );
    const busy = await login(system.ftpPort);
    let commands = 0;
    const chatter = (async () => {
      for (let i = 0; i < 100_000 && !busy.closed; i++) {
        const r = await busy.send(i % 10 === 0 ? 'STAT' : i % 2 ? 'PWD' : `SIZE done-${i % 3}.bin`).catch(() => null);
        if (!r) return;
        commands++;
      }
    })();
    await until(async () => {
      const temps = (await readdir(home)).filter((n) => n.includes('.ferry-upload-'));
      const sizes = await Promise.all(
        temps.map((n) =>
          stat(path.join(home, n)).then(
            (s) => s.size,
            () => 0,
          ),
        ),
      );
      return temps.length === 4 && sizes.every((s) => s > 0) && commands >= 200;
    }, 'four growing uploads and a busy transcript');
    // What the history holds just before the kill: five running sessions, one with a long transcript.
    let recorded: { id: string; lines: { seq: number; text: string }[] } = { id: '', lines: [] };
    await until(async () => {
      const res = await system!.api('GET', '/api/v1/sessions/history?user=carla&limit=100');
      const running = (res.body.items as { id: string; endedAt: number | null }[]).filter((s) => s.endedAt === null);
      if (running.length !== 5) return false;
      for (const s of running) {
        const lines = (await system!.api('GET', `/api/v1/sessions/${s.id}/transcript?limit=100000`)).body.items as {
          seq: number;
          text: string;
        }[];
        if (lines.length > 100) recorded = { id: s.id, lines };
      }
      return recorded.lines.length > 100;
    }, 'the running sessions and the busy transcript in the history');
    expect(await system.stop('SIGKILL')).toBeNull();
    system = undefined;
    await chatter;
    for (const c of uploads) expect(c.closed || (await c.waitClosed().then(() => true))).toBe(true);

    // The files: complete ones intact, interrupted ones never under their final names.
    const names = await readdir(home);
    expect(names.filter((n) => !n.startsWith('.')).sort()).toEqual(['done-0.bin', 'done-1.bin', 'done-2.bin']);
    for (const [name, body] of done) expect(sha256(await readFile(path.join(home, name))), name).toBe(sha256(body));
    const leftovers = names.filter((n) => n.includes('.ferry-upload-'));
    expect(leftovers).toHaveLength(4);

    // The database after the crash: it opens (WAL recovered, migrations current) and is intact.
    const db = await importDb();
    const handle = db.openDb(path.join(dataDir, 'ferry.db'));
    try {
      expect(db.schemaVersion(handle)).toMatch(/^\d{4}_/);
      expect(integrityCheck(path.join(dataDir, 'ferry.db'))).toEqual(['ok']);
    } finally {
      db.closeDb(handle);
    }

    // The next start: serves, remembers the history, shows no temporary files and cleans them up.
    system = await startSystem({ dataDir });
    const history = await system.api('GET', '/api/v1/sessions/history?user=carla&limit=100');
    const ids = (history.body.items as { id: string }[]).map((s) => s.id);
    for (const id of finishedSessions) expect(ids).toContain(id);
    // The five sessions cut off by the kill are closed as interrupted, not shown as still connected, and the busy
    // one keeps the transcript written before the kill, in order and without gaps.
    type Item = { id: string; endedAt: number | null; endReason: string | null; startedAt: number };
    const items = history.body.items as Item[];
    expect(items.filter((s) => s.endedAt === null)).toEqual([]);
    const cut = items.filter((s) => s.endReason === 'interrupted');
    expect(cut).toHaveLength(5);
    expect(cut.map((s) => s.id)).toContain(recorded.id);
    const chatty = (await system.api('GET', `/api/v1/sessions/${recorded.id}/transcript?limit=100000`)).body.items as {
      seq: number;
      text: string;
    }[];
    expect(chatty.length).toBeGreaterThanOrEqual(recorded.lines.length);
    expect(chatty.slice(0, recorded.lines.length)).toEqual(recorded.lines);
    expect(chatty.map((l) => l.seq)).toEqual(chatty.map((_, i) => i + 1));
    expect(chatty.some((l) => l.text === 'PWD')).toBe(true);

    const after = await login(system.ftpPort);
    const data = await after.openData();
    const listing = collect(data);
    expect((await after.send('NLST -a')).code).toBe(150);
    const [listed, end] = await Promise.all([listing, after.read()]);
    expect(end.code).toBe(226);
    expect(listed.toString('utf8').split('\r\n').filter(Boolean).sort()).toEqual(['done-0.bin', 'done-1.bin', 'done-2.bin']);
    await until(async () => (await readdir(home)).every((n) => !n.includes('.ferry-upload-')), 'the stale temporary files to be removed');
    expect(sha256(await after.download('done-1.bin'))).toBe(sha256(done.get('done-1.bin')!));
    await after.quit();
    expect(await system.stop()).toBe(0);
    system = undefined;
    expect(integrityCheck(path.join(dataDir, 'ferry.db'))).toEqual(['ok']);
  });
});
