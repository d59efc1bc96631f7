/**
 * The whole life of a Ferry installation, from outside: `pnpm start` with a temp data dir, admin login over
 * the API, an FTP account created with curl, used with basic-ftp, its history and transcript read back,
 * then SIGTERM: exit code 0 and the complete transcript in SQLite.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Client } from 'basic-ftp';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startSystem, type System } from '../support/start-system.js';

const run = promisify(execFile);
const USER = { username: 'dave', password: 'dave-the-ftp-user' };

/** The part of packages/db this test reads after the server has exited (imported from its build). */
interface DbModule {
  openDb(file: string): unknown;
  closeDb(db: unknown): void;
  createSessionStore(db: unknown): {
    get(id: string): Promise<{ endedAt: number | null; username: string | null; outcome: string | null } | null>;
  };
  createTranscriptStore(db: unknown): {
    lines(id: string, opts?: { limit?: number }): Promise<{ seq: number; kind: string; text: string }[]>;
  };
}

let system: System | undefined;
let dataDir = '';

afterAll(async () => {
  await system?.stop('SIGKILL').catch(() => undefined);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('Ferry lifecycle (pnpm start → API → FTP → SIGTERM)', () => {
  it('serves, records and shuts down cleanly with the transcript complete in SQLite', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'ferry-lifecycle-'));
    system = await startSystem({ command: ['pnpm', 'start'], dataDir, startTimeoutMs: 180_000 });
    const token = await system.login();

    // Create the FTP account with curl, as a script would.
    const { stdout } = await run('curl', [
      '--silent',
      '--show-error',
      '--max-time',
      '15',
      '-X',
      'POST',
      `${system.httpUrl}/api/v1/users`,
      '-H',
      `Authorization: Bearer ${token}`,
      '-H',
      'Content-Type: application/json',
      '--data',
      JSON.stringify(USER),
      '--write-out',
      '\n%{http_code}',
    ]);
    const [body = '', status] = stdout.trim().split('\n');
    expect(status).toBe('201');
    expect(JSON.parse(body)).toMatchObject({ username: 'dave', homeDir: 'files/dave' });

    // Use it with a real FTP client.
    const payload = Buffer.from('Ferry carries files across.\n'.repeat(1000));
    const ftp = new Client(10_000);
    try {
      await ftp.access({ host: '127.0.0.1', port: system.ftpPort, user: USER.username, password: USER.password });
      await ftp.uploadFrom(Readable.from([payload]), 'hello.txt');
      expect((await ftp.list()).map((f) => f.name)).toContain('hello.txt');
      const chunks: Buffer[] = [];
      await ftp.downloadTo(new Writable({ write: (c: Buffer, _e, done) => (chunks.push(c), done()) }), 'hello.txt');
      expect(Buffer.concat(chunks).equals(payload)).toBe(true);
      await ftp.send('QUIT');
    } finally {
      ftp.close();
    }

    // History and transcript over the API.
    let sessionId = '';
    await expect
      .poll(
        async () => {
          const res = await system!.api('GET', '/api/v1/sessions/history?user=dave');
          const item = res.body.items?.[0];
          sessionId = item?.id ?? '';
          return item?.endedAt ?? null;
        },
        { timeout: 10_000 },
      )
      .toEqual(expect.any(Number));
    const session = await system.api('GET', `/api/v1/sessions/${sessionId}`);
    expect(session.body).toMatchObject({ username: 'dave', outcome: 'ok', filesIn: 1, filesOut: 1, bytesIn: payload.length });
    const text = await system.api('GET', `/api/v1/sessions/${sessionId}/transcript?format=text`);
    expect(text.body).toMatch(/ USER dave$/m);
    expect(text.body).toMatch(/ PASS \*\*\*\*$/m);
    expect(text.body).toMatch(/ STOR hello\.txt$/m);
    expect(text.body).toMatch(/ 221[ -]/m);
    expect(text.body).not.toContain(USER.password);
    const apiLines = (await system.api('GET', `/api/v1/sessions/${sessionId}/transcript`)).body.items as { seq: number; text: string }[];

    // SIGTERM: clean exit, everything flushed.
    const code = await system.stop('SIGTERM');
    system = undefined;
    expect(code).toBe(0);

    const db = (await import(pathToFileURL(path.join(REPO_ROOT, 'packages/db/dist/index.js')).href)) as DbModule;
    const handle = db.openDb(path.join(dataDir, 'ferry.db'));
    try {
      const stored = await db.createSessionStore(handle).get(sessionId);
      expect(stored).toMatchObject({ username: 'dave', outcome: 'ok', endedAt: expect.any(Number) });
      const lines = await db.createTranscriptStore(handle).lines(sessionId, { limit: 100_000 });
      expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));
      expect(lines.length).toBeGreaterThanOrEqual(apiLines.length);
      expect(lines.slice(0, apiLines.length).map((l) => l.text)).toEqual(apiLines.map((l) => l.text));
      expect(lines.some((l) => l.text === 'PASS ****')).toBe(true);
      expect(lines.every((l) => !l.text.includes(USER.password))).toBe(true);
    } finally {
      db.closeDb(handle);
    }
  });
});
