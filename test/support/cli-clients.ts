/**
 * Helpers for the end-to-end tests that drive Ferry with command-line FTP clients: an lftp mirror round trip,
 * and the newest recorded session of a user read back through the REST API.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { System } from './start-system.js';

const run = promisify(execFile);

/** `mirror -R local remote` then `mirror remote back` in one lftp session; `settings` are lftp `set` lines. */
export async function lftpMirrorRoundTrip(opts: {
  system: System;
  user: { username: string; password: string };
  settings: string[];
  local: string;
  remote: string;
  back: string;
}): Promise<void> {
  const script = [
    ...opts.settings.map((s) => `set ${s}`),
    'set net:max-retries 1',
    'set net:timeout 15',
    'set cmd:fail-exit yes',
    `mirror -R --no-perms "${opts.local}" ${opts.remote}`,
    `mirror --no-perms ${opts.remote} "${opts.back}"`,
    'quit',
  ].join('; ');
  const login = `${opts.user.username},${opts.user.password}`;
  // lftp writes names in the locale's charset: without a UTF-8 locale (a bare CI environment) it turns every
  // non-ASCII character into '?'.
  const env = { ...process.env, LC_ALL: 'C.UTF-8' };
  await run('lftp', ['-u', login, '-p', String(opts.system.ftpPort), '-e', script, '127.0.0.1'], { timeout: 60_000, env });
}

/**
 * The transcript of `username`'s newest recorded session (empty if none yet) as `<seq> <line>` per line, taken from
 * the plain-text export (whose header and date-time column are left out), and its structured events.
 */
export async function lastTranscript(system: System, username: string): Promise<{ text: string; events: Array<Record<string, unknown>> }> {
  // `user` matches part of a name: the newest session of exactly this user among the newest matches.
  const history = await system.api('GET', `/api/v1/sessions/history?user=${encodeURIComponent(username)}&limit=100`);
  const id = (history.body.items as { id: string; username: string | null }[]).find((s) => s.username === username)?.id;
  if (!id) return { text: '', events: [] };
  const exported = String((await system.api('GET', `/api/v1/sessions/${id}/transcript?format=text`)).body);
  const text = exported
    .slice(exported.indexOf('\n\n') + 2)
    .split('\n')
    .map((line) => line.replace(/^ *(\d*) {2}\S+ \S+ [+-]\d\d:\d\d {2}/, (_, seq: string) => `${seq} `))
    .join('\n');
  const lines = (await system.api('GET', `/api/v1/sessions/${id}/transcript`)).body.items as Array<{ event?: Record<string, unknown> }>;
  return { text, events: lines.flatMap((l) => (l.event ? [l.event] : [])) };
}
