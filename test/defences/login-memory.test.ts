/**
 * Password checks do not leave their memory behind. Each argon2id check takes 19 MiB on a thread of libuv's pool;
 * with glibc's default policy that block stays with the thread for good after its first reuse, so a burst of logins
 * left up to one 19 MiB block per pool thread resident while the server idles. Ferry's native addon sets the C
 * library to give blocks that large back when freed (`returnLargeBlocks`, called before the first hash): after
 * bursts of logins from many sessions at once, the real process holds no anonymous mapping with 16 MiB or more
 * resident (V8's own heap comes in pages of 256 KiB, its large reservations stay mostly unbacked).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type System } from '../support/start-system.js';
import { createUser } from './support/admin.js';
import { expectCode, RawFtp } from './support/raw-ftp.js';

const USER = { username: 'mira', password: 'mira-ftp-password' };
const AT_ONCE = 16;
const ROUNDS = 3;
const MIB = 1024 * 1024;

let system: System;

beforeAll(async () => {
  system = await startSystem();
  await createUser(system, { ...USER, permissions: [{ path: '/', allow: ['list', 'download'] }] });
});

afterAll(async () => {
  await system?.stop();
});

/** Anonymous mappings of the process and how much of each is resident (bytes), from /proc/<pid>/smaps. */
function anonymousMappings(pid: number): { range: string; size: number; rss: number }[] {
  const out: { range: string; size: number; rss: number }[] = [];
  let current: { range: string; size: number; rss: number } | null = null;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) {
      const [, start, end, name] = header as unknown as [string, string, string, string];
      current = name === '' ? { range: `${start}-${end}`, size: Number.parseInt(end, 16) - Number.parseInt(start, 16), rss: 0 } : null;
      if (current) out.push(current);
    } else if (current && line.startsWith('Rss:')) {
      current.rss = Number(line.split(/\s+/)[1]) * 1024;
    }
  }
  return out;
}

async function login(): Promise<void> {
  const ftp = await RawFtp.connect(system.ftpPort);
  try {
    expectCode(await ftp.read(), 220);
    expectCode(await ftp.send(`USER ${USER.username}`), 331);
    expectCode(await ftp.send(`PASS ${USER.password}`), 230);
    expectCode(await ftp.send('QUIT'), 221);
  } finally {
    ftp.close();
  }
}

describe('memory after password checks (real process, glibc)', () => {
  it(`after ${ROUNDS} bursts of ${AT_ONCE} logins at once, no anonymous mapping keeps 16 MiB or more resident`, async () => {
    for (let round = 0; round < ROUNDS; round++) await Promise.all(Array.from({ length: AT_ONCE }, () => login()));
    const big = anonymousMappings(system.pid).filter((m) => m.rss >= 16 * MIB);
    expect(big.map((m) => `${m.range}: ${(m.rss / MIB).toFixed(1)} MiB resident of ${(m.size / MIB).toFixed(1)}`)).toEqual([]);
  });
});
