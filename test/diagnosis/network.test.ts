/**
 * The transcript doctor in the running product: each network problem is provoked for real on loopback
 * against a Ferry process, and its finding must show up in GET /api/v1/sessions/{id}/diagnosis (and, for
 * the passive timeout, live on the WebSocket while the session is still open), counted in /metrics.
 */
import type { Finding } from '@ferry/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type System } from '../support/start-system.js';
import {
  closedPort,
  Control,
  createUser,
  dial,
  eventually,
  findingsOf,
  findingsWith,
  liveStream,
  patchSettings,
  sessionOf,
} from './support/doctor.js';

const USER = 'doc-erin';
const PASSWORD = 'erin-ftp-password';
const BAN_THRESHOLD = 3;

let system: System;
const cleanup: (() => void)[] = [];

beforeAll(async () => {
  system = await startSystem({
    env: { FERRY_BAN_THRESHOLD: String(BAN_THRESHOLD), FERRY_BAN_WINDOW_SECONDS: '300', FERRY_BAN_SECONDS: '600' },
  });
  await createUser(system, USER, PASSWORD);
  await patchSettings(system, { dataConnectTimeoutSeconds: 1 });
});

afterAll(async () => {
  for (const close of cleanup.splice(0)) close();
  await system?.stop();
});

async function loggedIn(localAddress = '127.0.0.1'): Promise<Control> {
  const c = await Control.open(system.ftpPort, localAddress);
  cleanup.push(() => c.close());
  expect((await c.read()).code).toBe(220);
  await c.login(USER, PASSWORD);
  return c;
}

const codes = (found: Finding[]) => found.map((f) => f.code).sort();

describe('network findings, provoked for real', () => {
  it('a client that never opens the passive data connection: pushed live while the session is open, then stored', async () => {
    const live = await liveStream(system);
    cleanup.push(live.close);
    const c = await loggedIn();
    const session = await sessionOf(system, '127.0.0.1', c.localPort);
    await c.epsv();
    expect((await c.send('LIST')).code).toBe(150);
    expect((await c.read()).code).toBe(425); // the engine gave up after dataConnectTimeoutSeconds = 1

    // Still connected, and silent: the finding is already on the stream.
    const pushed = await eventually(
      async () => live.messages.find((m) => m.type === 'finding' && m.sessionId === session.id),
      'the live finding',
    );
    expect(pushed).toMatchObject({ type: 'finding', finding: { code: 'passive-data-never-arrived', severity: 'error' } });
    const stored = await findingsWith(system, session.id, ['passive-data-never-arrived']);
    expect(stored[0]?.explanation).toContain('no connection arrived');
    expect(stored[0]?.evidence.length).toBeGreaterThan(0);

    await c.send('QUIT', 221);
    const closed = await eventually(async () => {
      const s = await sessionOf(system, '127.0.0.1', c.localPort);
      return s.endedAt === null ? undefined : s;
    }, 'the session to end');
    expect(closed).toMatchObject({ outcome: 'problems', findings: 1 });
  });

  it('a data connection from 127.0.0.2 is refused and explained', async () => {
    const c = await loggedIn();
    const session = await sessionOf(system, '127.0.0.1', c.localPort);
    const port = await c.epsv();
    const thief = await dial(port, '127.0.0.2');
    cleanup.push(() => thief.destroy());
    const [finding] = await findingsWith(system, session.id, ['data-foreign-peer']);
    expect(finding?.title).toContain('127.0.0.2');
    expect(finding?.title).toContain('127.0.0.1');
    await c.send('QUIT', 221);
  });

  it('a PORT to a closed port', async () => {
    const c = await loggedIn();
    const session = await sessionOf(system, '127.0.0.1', c.localPort);
    const port = await closedPort();
    await c.send(`PORT 127,0,0,1,${port >> 8},${port & 255}`, 200);
    const r = await c.send('LIST');
    if (r.code === 150) await c.read();
    const found = await findingsWith(system, session.id, ['active-connect-failed']);
    expect(found.find((f) => f.code === 'active-connect-failed')?.explanation).toContain(`127.0.0.1:${port}`);
    await c.send('QUIT', 221);
  });

  it('an advertised address of 10.0.0.1 to a 127.0.0.1 client', async () => {
    await patchSettings(system, { passiveAddress: '10.0.0.1', passiveLocalForPrivateClients: false });
    try {
      const c = await loggedIn();
      const session = await sessionOf(system, '127.0.0.1', c.localPort);
      expect((await c.pasv()).host).toBe('10.0.0.1'); // never dialled: loopback only
      const r = await c.send('LIST');
      if (r.code === 150) await c.read();
      const found = await findingsWith(system, session.id, ['passive-address-unreachable']);
      expect(codes(found)).toEqual(['passive-address-unreachable', 'passive-data-never-arrived']);
      expect(found.find((f) => f.code === 'passive-address-unreachable')?.explanation).toContain('set to 10.0.0.1');
      await c.send('QUIT', 221);
    } finally {
      await patchSettings(system, { passiveAddress: null, passiveLocalForPrivateClients: true });
    }
  });

  it('a plain data connection under PROT P', async () => {
    const c = await Control.open(system.ftpPort);
    cleanup.push(() => c.close());
    expect((await c.read()).code).toBe(220);
    const session = await sessionOf(system, '127.0.0.1', c.localPort);
    await c.startTls();
    await c.login(USER, PASSWORD);
    await c.send('PBSZ 0', 200);
    await c.send('PROT P', 200);
    const port = await c.epsv();
    const data = await dial(port); // plain TCP where TLS is expected
    cleanup.push(() => data.destroy());
    const r = await c.send('LIST');
    if (r.code === 150) await c.read();
    const found = await findingsWith(system, session.id, ['data-not-protected']);
    expect(found.find((f) => f.code === 'data-not-protected')?.severity).toBe('error');
    await c.send('QUIT', 221);
  });

  it('a ban: failed logins past the threshold, then the refused connect is a session with its finding', async () => {
    for (let i = 0; i < BAN_THRESHOLD; i++) {
      const c = await Control.open(system.ftpPort, '127.0.0.3');
      cleanup.push(() => c.close());
      expect((await c.read()).code).toBe(220);
      await c.send(`USER ${USER}`, 331);
      // the failure that reaches the threshold bans the address, which closes this session at once
      await c.send(`PASS wrong-${i}`, i < BAN_THRESHOLD - 1 ? 530 : 421);
      c.close();
    }
    const refused = await Control.open(system.ftpPort, '127.0.0.3');
    cleanup.push(() => refused.close());
    const reply = await refused.read();
    expect(reply.code).toBe(421);
    expect(reply.text).toMatch(/banned/i);

    const session = await sessionOf(system, '127.0.0.3', refused.localPort);
    const [finding] = await findingsWith(system, session.id, ['address-banned']);
    expect(finding?.title).toBe('127.0.0.3 is banned');
    const recorded = await eventually(async () => {
      const s = await sessionOf(system, '127.0.0.3', refused.localPort);
      return s.endedAt === null ? undefined : s;
    }, 'the refused session to end');
    expect(recorded).toMatchObject({ endReason: 'refused', outcome: 'problems', username: null, findings: 1 });
    const transcript = await system.api('GET', `/api/v1/sessions/${session.id}/transcript`);
    expect(transcript.body.items.map((l: { text: string }) => l.text)).toEqual([
      expect.stringMatching(/^Client 127\.0\.0\.3:\d+ connected$/),
      reply.text,
      'Disconnected (refused)',
    ]);
    // The earlier sessions of 127.0.0.3 were failed logins, not refusals.
    const earlier = await system.api('GET', '/api/v1/sessions/history?address=127.0.0.3&outcome=login-failed');
    expect(earlier.body.items).toHaveLength(BAN_THRESHOLD);
    expect(await findingsOf(system, earlier.body.items[0].id)).toEqual(
      expect.arrayContaining([expect.objectContaining({ code: 'login-bad-password' })]),
    );
  });

  it('counts findings by code in /metrics', async () => {
    const res = await fetch(`${system.httpUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    const count = (code: string) => Number(new RegExp(`^ferry_findings_total\\{code="${code}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
    expect(count('passive-data-never-arrived')).toBe(2);
    expect(count('data-foreign-peer')).toBe(1);
    expect(count('active-connect-failed')).toBe(1);
    expect(count('passive-address-unreachable')).toBe(1);
    expect(count('data-not-protected')).toBe(1);
    expect(count('address-banned')).toBe(2); // the session the ban closed, and the refused connect
    expect(count('disk-full')).toBe(0);
    expect(text).toMatch(/^ferry_ftp_connections_refused_total\{reason="banned"\} 1$/m);
  });
});
