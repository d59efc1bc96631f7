/**
 * GET /api/v1/connectivity against a real Ferry process: with no advertised address it tests the address the
 * request came to (127.0.0.1 here, reachable but loopback), with one set it tests that, and it needs a login.
 */
import type { ConnectivityReport } from '@ferry/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type System } from '../support/start-system.js';
import { closedPort, patchSettings } from './support/doctor.js';

let system: System;
/** The passive range: one port that was free a moment ago (the self-test listens on it). */
let passivePort = 0;

beforeAll(async () => {
  // FERRY_PASV_PORTS unset, so the range is a setting the test can change.
  system = await startSystem({ env: { FERRY_FTPS_PORT: '0', FERRY_PASV_PORTS: '' } });
  passivePort = await closedPort();
  await patchSettings(system, { passivePorts: `${passivePort}-${passivePort}` });
});
afterAll(async () => {
  await system?.stop();
});

async function report(): Promise<ConnectivityReport> {
  const res = await system.api('GET', '/api/v1/connectivity');
  expect(res.status).toBe(200);
  return res.body as ConnectivityReport;
}

const check = (r: ConnectivityReport, name: string) => r.checks.find((c) => c.name === name);

describe('connectivity self-test', () => {
  it('refuses anonymous callers', async () => {
    const res = await fetch(`${system.httpUrl}/api/v1/connectivity`, { signal: AbortSignal.timeout(5000) });
    expect(res.status).toBe(401);
  });

  it('without an advertised address: tests the request host, reaches every port, flags it as loopback', async () => {
    const r = await report();
    expect(r).toMatchObject({ advertisedAddress: '127.0.0.1', addressSource: 'request', resolvedAddress: '127.0.0.1', ok: false });
    expect(r.checks.map((c) => c.name)).toEqual(['resolve-address', 'public-address', 'control-port', 'ftps-port', 'passive-port']);
    expect(check(r, 'public-address')).toMatchObject({
      ok: false,
      skipped: false,
      fix: expect.stringContaining('"Advertised address" on the Settings page'),
    });
    expect(check(r, 'control-port')).toMatchObject({ ok: true, detail: expect.stringContaining(`127.0.0.1:${system.ftpPort}`) });
    expect(check(r, 'control-port')?.detail).toContain('"220 ');
    expect(check(r, 'ftps-port')).toMatchObject({ ok: true, detail: expect.stringContaining(`:${system.ftpsPort}`) });
    expect(check(r, 'passive-port')).toMatchObject({ ok: true, detail: expect.stringContaining(`port ${passivePort}`) });
    expect(r.firewallRules.map((rule) => rule.ports)).toEqual([String(system.ftpPort), String(system.ftpsPort), String(passivePort)]);
  });

  it('with an advertised address set: tests that one', async () => {
    await patchSettings(system, { passiveAddress: '127.0.0.2' });
    try {
      const r = await report();
      expect(r).toMatchObject({ advertisedAddress: '127.0.0.2', addressSource: 'setting', resolvedAddress: '127.0.0.2' });
      expect(check(r, 'control-port')).toMatchObject({ ok: true, detail: expect.stringContaining(`127.0.0.2:${system.ftpPort}`) });
      expect(check(r, 'passive-port')).toMatchObject({ ok: true, detail: expect.stringContaining(`127.0.0.2:${passivePort}`) });
      expect(r.firewallRules).toContainEqual(expect.objectContaining({ ports: String(passivePort), from: passivePort, to: passivePort }));
    } finally {
      await patchSettings(system, { passiveAddress: null });
    }
  });
});
