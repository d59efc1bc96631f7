/**
 * Probe links against a real Ferry process: generated curl and lftp commands (plain and FTPS, passive and active) run
 * as the customer would paste them, a real FTP client downloads and may not write, the
 * verdicts follow, a used-up link and a deleted one are refused with 530.
 */
import { execFile } from 'node:child_process';
import { Readable, Writable } from 'node:stream';
import { promisify } from 'node:util';
import type { CreatedProbe, ProbeCommand, ProbeDetail } from '@ferry/contract';
import { Client } from 'basic-ftp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type System } from '../support/start-system.js';

const run = promisify(execFile);
const POLL = { timeout: 15_000, interval: 200 };
let system: System;

beforeAll(async () => {
  system = await startSystem();
});

afterAll(async () => {
  await system?.stop();
});

async function createProbe(body: Record<string, unknown>): Promise<CreatedProbe> {
  const res = await system.api('POST', '/api/v1/probes', body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as CreatedProbe;
}

/** Runs a generated command in a POSIX shell, pointed at this test's Ferry (the host and port it names are replaced). */
async function runCommand(command: ProbeCommand): Promise<void> {
  const local = command.command.replace(/ftp:\/\/[^/' ]+/, `ftp://127.0.0.1:${system.ftpPort}`);
  await run('sh', ['-c', local], { timeout: 60_000 });
}

async function ftpLogin(user: string, password: string): Promise<Client> {
  const ftp = new Client(10_000);
  await ftp.access({ host: '127.0.0.1', port: system.ftpPort, user, password });
  return ftp;
}

const detailOf = async (id: string) => (await system.api('GET', `/api/v1/probes/${id}`)).body as ProbeDetail;

describe('a probe link', () => {
  it('works with the generated commands and a real client, reports a verdict per mode, then is used up', async () => {
    const { probe, password, commands } = await createProbe({ ttlMinutes: 5, maxSessions: 6, note: 'e2e' });
    const curl = commands.filter((c) => c.tool === 'curl');
    expect(curl.map((c) => c.id)).toEqual(['curl-plain-passive', 'curl-plain-active', 'curl-ftps-passive', 'curl-ftps-active']);
    expect(curl[0]?.command).toContain(`ftp://127.0.0.1:${system.ftpPort}/ferry-probe.txt`);

    // The customer's side, exactly as generated. Active FTPS through lftp: curl 7.87-7.88 (Debian 12's) accepts the
    // server's active data connection but never starts TLS on it (curl/curl#10666, a curl regression).
    const byId = (id: string) => commands.find((c) => c.id === id) as ProbeCommand;
    for (const id of ['curl-plain-passive', 'curl-plain-active', 'curl-ftps-passive', 'lftp-plain-passive', 'lftp-ftps-active']) {
      await runCommand(byId(id));
    }

    // A real client: it lists and downloads the 4 KiB probe file, and may not write.
    const ftp = await ftpLogin(probe.username, password);
    try {
      expect((await ftp.list()).map((f) => [f.name, f.size])).toEqual([['ferry-probe.txt', 4096]]);
      let bytes = 0;
      await ftp.downloadTo(
        new Writable({
          write(chunk: Buffer, _enc, done) {
            bytes += chunk.length;
            done();
          },
        }),
        'ferry-probe.txt',
      );
      expect(bytes).toBe(4096);
      await expect(ftp.uploadFrom(Readable.from(['not allowed']), 'upload.txt')).rejects.toMatchObject({ code: 550 });
    } finally {
      ftp.close();
    }

    await expect
      .poll(async () => {
        const detail = await detailOf(probe.id);
        return {
          used: detail.probe.sessionsUsed,
          sessions: detail.sessions.length,
          verdicts: detail.verdicts.map((v) => [v.mode, v.state]),
        };
      }, POLL)
      .toEqual({
        used: 6,
        sessions: 6,
        verdicts: [
          ['plain-passive', 'works'],
          ['plain-active', 'works'],
          ['ftps-passive', 'works'],
          ['ftps-active', 'works'],
        ],
      });

    await expect(ftpLogin(probe.username, password)).rejects.toMatchObject({
      code: 530,
      message: '530 This test link has been used up; ask for a new one',
    });
  });

  it('stops working when deleted', async () => {
    const { probe, password } = await createProbe({ maxSessions: 5 });
    (await ftpLogin(probe.username, password)).close();
    expect((await system.api('DELETE', `/api/v1/probes/${probe.id}`)).status).toBe(204);
    await expect(ftpLogin(probe.username, password)).rejects.toMatchObject({ code: 530, message: '530 Login incorrect' });
    expect((await system.api('GET', `/api/v1/probes/${probe.id}`)).status).toBe(404);
    const list = (await system.api('GET', '/api/v1/probes')).body as { items: { id: string }[] };
    expect(list.items.map((p) => p.id)).not.toContain(probe.id);
  });
});
