/**
 * History search, filters, exports and traffic reports from outside: a real Ferry (in Europe/Berlin, so times carry
 * +01:00 in December), real FTP sessions with basic-ftp, and the admin API.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Client } from 'basic-ftp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type System } from '../support/start-system.js';

const USER = { username: 'erin', password: 'erin-the-ftp-user' };
const PAYLOAD = Buffer.alloc(1234, 7);
const ZONED = /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \+01:00/;

let system: System;
let dataDir = '';
/** Session ids: erin's upload, and the failed login of an unknown user. */
const ids = { upload: '', ghost: '' };

interface Line {
  seq: number;
  text: string;
  severity?: string;
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'ferry-history-'));
  system = await startSystem({ dataDir, env: { TZ: 'Europe/Berlin' } });
  expect((await system.api('POST', '/api/v1/users', USER)).status).toBe(201);

  const ftp = new Client(10_000);
  try {
    await ftp.access({ host: '127.0.0.1', port: system.ftpPort, user: USER.username, password: USER.password });
    await ftp.send('CLNT TestClient 1.0');
    await ftp.uploadFrom(Readable.from([PAYLOAD]), 'invoice-2291.pdf');
    await ftp.send('QUIT');
  } finally {
    ftp.close();
  }
  const ghost = new Client(10_000);
  try {
    await ghost.connect('127.0.0.1', system.ftpPort);
    await ghost.send('CLNT =1+2');
    await expect(ghost.login('ghost', 'not-a-password')).rejects.toThrow(/530/);
  } finally {
    ghost.close();
  }

  // Both sessions closed and recorded (the recorder writes in batches).
  const deadline = Date.now() + 10_000;
  for (;;) {
    const items = (await system.api('GET', '/api/v1/sessions/history')).body.items as {
      id: string;
      username: string;
      endedAt: number | null;
    }[];
    ids.upload = items.find((s) => s.username === 'erin')?.id ?? '';
    ids.ghost = items.find((s) => s.username === 'ghost')?.id ?? '';
    if (items.length === 2 && items.every((s) => s.endedAt !== null)) break;
    if (Date.now() > deadline) throw new Error(`sessions not recorded: ${JSON.stringify(items)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}, 60_000);

afterAll(async () => {
  await system?.stop('SIGTERM').catch(() => undefined);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const history = async (query: string) => (await system.api('GET', `/api/v1/sessions/history?${query}`)).body;
const lines = async (id: string) => (await system.api('GET', `/api/v1/sessions/${id}/transcript`)).body.items as Line[];

describe('history search and filters', () => {
  it('finds the session by the file name, whole or in parts, with a hit on the STOR line', async () => {
    const stor = (await lines(ids.upload)).find((l) => l.text === 'STOR invoice-2291.pdf');
    expect(stor).toBeDefined();
    for (const q of ['invoice-2291.pdf', 'invoice', '2291', 'INVOI*']) {
      const body = await history(`q=${encodeURIComponent(q)}`);
      expect(
        body.items.map((s: { id: string }) => s.id),
        q,
      ).toEqual([ids.upload]);
    }
    const [item] = (await history('q=invoice-2291.pdf')).items;
    // Every line that names the file (the STOR, the 150 reply, the transfer events), first five, in order.
    const naming = (await lines(ids.upload)).filter((l) => l.text.includes('invoice-2291.pdf')).map((l) => l.seq);
    expect(naming.length).toBeGreaterThanOrEqual(3);
    expect(item.hits.map((h: { seq: number }) => h.seq)).toEqual(naming.slice(0, 5));
    expect(item.hits.slice(0, 1)).toEqual([
      {
        seq: stor?.seq,
        excerpt: 'STOR invoice-2291.pdf',
        marks: [
          { start: 5, end: 12 },
          { start: 13, end: 17 },
          { start: 18, end: 21 },
        ],
      },
    ]);
    expect((await history('q=testclient')).items.map((s: { id: string }) => s.id)).toEqual([ids.upload]);
    expect((await history(`q=${encodeURIComponent('"unbalanced AND (')}`)).items).toEqual([]);
  });

  it('attributes the failed login to the name it tried, and filters by user, address, outcome and TLS', async () => {
    const ghost = (await history('user=GHO')).items;
    expect(ghost).toEqual([expect.objectContaining({ id: ids.ghost, username: 'ghost', unknownUser: true, outcome: 'login-failed' })]);
    expect((await history('user=rin')).items.map((s: { id: string }) => s.id)).toEqual([ids.upload]);
    expect((await history('address=127.0.0.0%2F8')).items).toHaveLength(2);
    expect((await history('address=127.0.')).items).toHaveLength(2);
    expect((await history('address=10.0.0.0%2F8')).items).toEqual([]);
    expect((await history('address=2001%3Adb8%3A%3A%2F32')).items).toEqual([]);
    expect((await history('outcome=login-failed')).items.map((s: { id: string }) => s.id)).toEqual([ids.ghost]);
    expect((await history('tls=true')).items).toEqual([]);
    expect((await history('severity=error&tls=false')).items.map((s: { id: string }) => s.id)).toEqual(
      (await history('severity=error')).items.map((s: { id: string }) => s.id),
    );
  });

  it('answers 400 naming the field for a bad CIDR and a bad severity', async () => {
    const bad = async (query: string) => {
      const res = await system.api('GET', `/api/v1/sessions/history?${query}`);
      return { status: res.status, field: res.body.error?.field };
    };
    expect(await bad('address=127.0.0.0%2F33')).toEqual({ status: 400, field: 'address' });
    expect(await bad('address=2001%3Adb8%3A%3Azz%2F32')).toEqual({ status: 400, field: 'address' });
    expect(await bad('severity=fatal')).toEqual({ status: 400, field: 'severity' });
    expect((await system.api('GET', '/api/v1/sessions/history.csv?address=1.2.3.4%2F40')).status).toBe(400);
  });

  it('answers 400 naming an unknown query parameter instead of ignoring it (a typo must not list everyone)', async () => {
    for (const path of [
      '/api/v1/sessions/history?usr=hist',
      '/api/v1/sessions/history.csv?usr=hist',
      '/api/v1/reports/traffic?by=day&usr=hist',
    ]) {
      const res = await system.api('GET', path);
      expect([res.status, res.body.error?.field, res.body.error?.message], path).toEqual([400, 'usr', 'usr is not a known field']);
    }
  });
});

describe('exports', () => {
  it('CSV: header row, one row per session, ISO times with offset, formulas neutralised', async () => {
    const res = await system.api('GET', '/api/v1/sessions/history.csv');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/csv');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="ferry-history-\d{4}-\d\d-\d\d\.csv"$/);
    const rows = (res.body as string).split('\r\n');
    expect(rows.at(-1)).toBe('');
    expect(rows[0]).toBe(
      'id,started,ended,user,unknown_user,client_address,client_port,server_address,client_software,tls,outcome,end_reason,files_in,bytes_in,files_out,bytes_out,findings,worst_severity',
    );
    expect(rows).toHaveLength(4);
    const ghost = rows[1]?.split(',');
    expect(ghost?.slice(0, 1)).toEqual([ids.ghost]);
    expect(ghost?.[1]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+01:00$/);
    expect(ghost?.slice(3, 6)).toEqual(['ghost', 'true', '127.0.0.1']);
    expect(ghost?.[8]).toBe("'=1+2");
    const upload = rows[2]?.split(',');
    expect(upload?.slice(8, 16)).toEqual(['TestClient 1.0', 'false', 'ok', 'quit', '1', '1234', '0', '0']);
    const filtered = (await system.api('GET', '/api/v1/sessions/history.csv?user=erin')).body as string;
    expect(filtered.split('\r\n')).toHaveLength(3);
  });

  it('text: a header block, then every line with its number and full date-time', async () => {
    const res = await system.api('GET', `/api/v1/sessions/${ids.upload}/transcript?format=text`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(res.headers.get('content-disposition')).toMatch(
      new RegExp(`^attachment; filename="ferry-session-\\d{4}-\\d\\d-\\d\\d-${ids.upload}\\.txt"$`),
    );
    const text = res.body as string;
    const server = (await system.api('GET', '/api/v1/server')).body;
    expect(server.timeZone).toBe('Europe/Berlin');
    const header = text.slice(0, text.indexOf('\n\n')).split('\n');
    const field = (label: string) =>
      header
        .find((l) => l.startsWith(`${label}:`))
        ?.slice(label.length + 1)
        .trim();
    expect(field('Server')).toBe(`Ferry ${server.version}`);
    expect(field('Session')).toBe(ids.upload);
    expect(field('User')).toBe('erin');
    expect(field('Client')).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(field('Server address')).toBe(`127.0.0.1:${system.ftpPort}`);
    expect(field('Node')).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]*$/); // FERRY_NODE_NAME: the host name here
    expect(field('Client software')).toBe('TestClient 1.0');
    expect(field('Started')).toMatch(new RegExp(`^${ZONED.source}$`));
    expect(field('Ended')).toMatch(new RegExp(`^${ZONED.source} \\(quit\\)$`));
    expect(field('Time zone')).toBe('Europe/Berlin');
    expect(field('TLS')).toBe('no');
    expect(field('Uploaded')).toBe('1 file, 1,234 bytes');
    expect(field('Downloaded')).toBe('0 files, 0 bytes');
    expect(field('Outcome')).toBe('ok');
    expect(field('Findings')).toBe('none');
    const stor = (await lines(ids.upload)).find((l) => l.text === 'STOR invoice-2291.pdf');
    expect(text).toMatch(new RegExp(`^ +${stor?.seq}  ${ZONED.source}  STOR invoice-2291\\.pdf$`, 'm'));
    expect(text).not.toContain(USER.password);

    const ghost = (await system.api('GET', `/api/v1/sessions/${ids.ghost}/transcript?format=text`)).body as string;
    expect(ghost).toMatch(/^User: +ghost \(unknown user: no account has this name\)$/m);
    expect(ghost).toMatch(/^Outcome: +login-failed$/m);
  });

  it('JSON: the whole session as one document, lines with their severity', async () => {
    const res = await system.api('GET', `/api/v1/sessions/${ids.ghost}/transcript?format=json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toMatch(/\.json"$/);
    const doc = res.body;
    expect(doc.server).toEqual({ version: expect.any(String), timeZone: 'Europe/Berlin' });
    expect(doc.session).toMatchObject({ id: ids.ghost, username: 'ghost', unknownUser: true });
    expect(doc.transcript.map((l: Line) => l.seq)).toEqual((await lines(ids.ghost)).map((l) => l.seq));
    expect(doc.transcript.find((l: Line) => l.text.startsWith('530 '))?.severity).toBe('error');
    expect(doc.transcript.find((l: Line) => l.text.startsWith('220'))?.severity).toBeUndefined();
    expect(doc.transfers).toEqual([]);
    const upload = (await system.api('GET', `/api/v1/sessions/${ids.upload}/transcript?format=json`)).body;
    expect(upload.transfers).toEqual([
      expect.objectContaining({ direction: 'upload', path: '/invoice-2291.pdf', bytes: 1234, outcome: 'ok' }),
    ]);
    // The paged transcript carries severities too.
    expect((await lines(ids.ghost)).filter((l) => l.severity === 'error').map((l) => l.text.slice(0, 4))).toContain('530 ');
  });
});

describe('traffic report', () => {
  it('counts by hour (24 zero-filled hours), by day and by user', async () => {
    const report = async (query: string) => (await system.api('GET', `/api/v1/reports/traffic?${query}`)).body;
    const hours = await report('by=hour&timeZone=UTC');
    expect(hours.timeZone).toBe('UTC');
    expect(hours.rows.length).toBeGreaterThanOrEqual(24);
    expect(hours.rows.length).toBeLessThanOrEqual(25);
    const sum = (rows: Record<string, number>[], key: string) => rows.reduce((n, r) => n + (r[key] ?? 0), 0);
    expect(['sessions', 'failedLogins', 'uploads', 'downloads', 'bytesIn'].map((k) => sum(hours.rows, k))).toEqual([2, 1, 1, 0, 1234]);
    expect(hours.rows.at(-1).key).toMatch(/^\d{4}-\d\d-\d\dT\d\d:00$/);
    const days = await report('by=day');
    expect(days.timeZone).toBe('Europe/Berlin');
    expect(days.rows.length).toBeGreaterThanOrEqual(30);
    expect(sum(days.rows, 'sessions')).toBe(2);
    const users = await report('by=user');
    expect(users.rows).toEqual([
      { key: 'erin', start: null, sessions: 1, failedLogins: 0, uploads: 1, downloads: 0, bytesIn: 1234, bytesOut: expect.any(Number) },
      { key: 'ghost', start: null, sessions: 1, failedLogins: 1, uploads: 0, downloads: 0, bytesIn: 0, bytesOut: 0 },
    ]);
    const badZone = await system.api('GET', '/api/v1/reports/traffic?by=day&timeZone=Mars%2FOlympus');
    expect([badZone.status, badZone.body.error?.field]).toEqual([400, 'timeZone']);
    const badBy = await system.api('GET', '/api/v1/reports/traffic?by=week');
    expect([badBy.status, badBy.body.error?.field]).toEqual([400, 'by']);
  });
});
