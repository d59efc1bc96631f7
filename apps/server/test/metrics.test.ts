/**
 * GET /metrics on the real service graph and a listening engine: no two families merge in a client that strips
 * suffixes, FTP logins are timed by result, admin sign-ins are counted from the audit log, bans and refused
 * connections are counted by reason, the passive range's capacity follows the settings, and the process,
 * database and data-disk gauges are there.
 */
import { Readable } from 'node:stream';
import { Client } from 'basic-ftp';
import { describe, expect, it } from 'vitest';
import { greeting, startHarness, type Harness } from './harness.js';

/** The families a text declares (its # TYPE lines). */
function families(text: string): { name: string; type: string }[] {
  return [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(([, name = '', type = '']) => ({ name, type }));
}

/**
 * The names a family takes in Python's prometheus_client, which strips `_total` from a counter's family name
 * and gives counters `_total` and `_created` samples, histograms `_bucket`, `_sum`, `_count` and `_created`.
 */
function claimedNames({ name, type }: { name: string; type: string }): string[] {
  if (type === 'counter') {
    const base = name.replace(/_total$/, '');
    return [base, `${base}_total`, `${base}_created`];
  }
  if (type === 'histogram' || type === 'summary') return [name, `${name}_bucket`, `${name}_sum`, `${name}_count`, `${name}_created`];
  return [name];
}

/** Names two families both claim. */
function collisions(text: string): string[] {
  const owner = new Map<string, string>();
  const clashes: string[] = [];
  for (const family of families(text)) {
    for (const claimed of claimedNames(family)) {
      const other = owner.get(claimed);
      if (other !== undefined && other !== family.name) clashes.push(`${claimed} (${other} and ${family.name})`);
      owner.set(claimed, family.name);
    }
  }
  return clashes;
}

/** The value of one sample, e.g. `ferry_ftp_logins_total{result="ok"}`; undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const escaped = series.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
}

async function scrape(h: Harness): Promise<string> {
  const res = await h.app.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.body;
}

async function withUser(h: Harness, username: string): Promise<number> {
  const created = await h.app.inject({
    method: 'POST',
    url: '/api/v1/users',
    headers: await h.bearer(),
    payload: { username, password: `${username}-password` },
  });
  expect(created.statusCode).toBe(201);
  return h.listenFtp();
}

describe('metric names', () => {
  it('the collision check finds the pair that used to clash: a gauge x and a counter x_total', () => {
    const text =
      '# TYPE ferry_ftp_sessions gauge\nferry_ftp_sessions 0\n# TYPE ferry_ftp_sessions_total counter\nferry_ftp_sessions_total 0\n';
    expect(collisions(text)).toEqual(['ferry_ftp_sessions (ferry_ftp_sessions and ferry_ftp_sessions_total)']);
    expect(collisions('# TYPE a histogram\n# TYPE a_count gauge\n')).toEqual(['a_count (a and a_count)']);
  });

  it('no two families of /metrics claim one name; counters, and only counters, end in _total', async () => {
    const h = await startHarness();
    const text = await scrape(h);
    const all = families(text);
    expect(all.length).toBeGreaterThan(40);
    expect(collisions(text)).toEqual([]);
    expect(all.filter((f) => f.type === 'counter' && !f.name.endsWith('_total'))).toEqual([]);
    expect(all.filter((f) => f.type !== 'counter' && f.name.endsWith('_total'))).toEqual([]);
    expect(all.map((f) => f.name)).toEqual(
      expect.arrayContaining([
        'ferry_ftp_sessions_connected',
        'ferry_ftp_sessions_total',
        'process_cpu_seconds_total',
        'nodejs_eventloop_lag_seconds',
      ]),
    );
  });
});

describe('GET /metrics after traffic', () => {
  it('times FTP logins by result, counts admin sign-ins, transfers into their buckets, sessions by TLS', async () => {
    const h = await startHarness();
    const port = await withUser(h, 'mona');
    const bad = new Client(5000);
    await expect(bad.access({ host: '127.0.0.1', port, user: 'mona', password: 'wrong-password' })).rejects.toThrow(/530/);
    bad.close();
    const ftp = new Client(5000);
    await ftp.access({ host: '127.0.0.1', port, user: 'mona', password: 'mona-password' });
    await ftp.uploadFrom(Readable.from([Buffer.alloc(3000, 7)]), 'three-k.bin');
    const refused = await h.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'admin', password: 'not-it' } });
    expect(refused.statusCode).toBe(401);

    let text = await scrape(h);
    expect(sample(text, 'ferry_ftp_logins_total{result="ok"}')).toBe(1);
    expect(sample(text, 'ferry_ftp_logins_total{result="failed"}')).toBe(1);
    expect(sample(text, 'ferry_login_duration_seconds_count{result="ok"}')).toBe(1);
    expect(sample(text, 'ferry_login_duration_seconds_count{result="failed"}')).toBe(1);
    expect(sample(text, 'ferry_login_duration_seconds_sum{result="ok"}')).toBeGreaterThan(0);
    expect(sample(text, 'ferry_admin_logins_total{result="ok"}')).toBe(1); // the harness's own sign-in
    expect(sample(text, 'ferry_admin_logins_total{result="failed"}')).toBe(1);
    expect(sample(text, 'ferry_ftp_transfers_total{direction="upload",outcome="ok"}')).toBe(1);
    expect(sample(text, 'ferry_transfer_size_bytes_bucket{le="1024",direction="upload",outcome="ok"}')).toBe(0);
    expect(sample(text, 'ferry_transfer_size_bytes_bucket{le="4096",direction="upload",outcome="ok"}')).toBe(1);
    expect(sample(text, 'ferry_transfer_size_bytes_sum{direction="upload",outcome="ok"}')).toBe(3000);
    expect(sample(text, 'ferry_transfer_duration_seconds_count{direction="upload",outcome="ok"}')).toBe(1);
    expect(sample(text, 'ferry_ftp_bytes_total{direction="in"}')).toBe(3000);
    expect(sample(text, 'ferry_ftp_sessions_connected{tls="false"}')).toBe(1);
    expect(sample(text, 'ferry_ftp_sessions_connected{tls="true"}')).toBe(0);
    expect(sample(text, 'ferry_ftp_sessions_total')).toBe(2);
    expect(
      sample(
        text,
        'ferry_build_info{version="0.0.0-test",node_version="' +
          process.versions.node +
          '",schema_version="' +
          h.services.info.schemaVersion +
          '"}',
      ),
    ).toBe(1);
    expect(sample(text, 'ferry_database_size_bytes')).toBeGreaterThan(0);
    expect(sample(text, 'ferry_data_disk_free_bytes')).toBeGreaterThan(0);
    expect(sample(text, 'ferry_passive_ports')).toBeUndefined(); // 0-0: the system picks the ports
    expect(text).toMatch(/^# TYPE ferry_passive_ports gauge$/m);
    expect(sample(text, 'ferry_tls_certificate_expiry_timestamp_seconds')).toBeUndefined(); // no FTPS here
    expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);

    ftp.close();
    await expect.poll(async () => sample(await scrape(h), 'ferry_ftp_sessions_connected{tls="false"}'), { timeout: 5000 }).toBe(0);
    text = await scrape(h);
    expect(sample(text, 'ferry_session_duration_seconds_count')).toBe(2);
    expect(sample(text, 'ferry_ftp_bytes_total{direction="in"}')).toBe(3000); // now from the closed session
  });

  it('counts a ban and the connections it refuses, by reason', async () => {
    const h = await startHarness({ bans: { threshold: 2 } });
    const port = await withUser(h, 'nils');
    for (let i = 0; i < 2; i++) {
      const ftp = new Client(5000);
      await expect(ftp.access({ host: '127.0.0.1', port, user: 'nils', password: `wrong-${i}` })).rejects.toThrow(i < 1 ? /530/ : /421/);
      ftp.close();
    }
    expect(await greeting(port)).toMatch(/^421/);
    expect(await greeting(port)).toMatch(/^421/);
    const text = await scrape(h);
    expect(sample(text, 'ferry_bans_total')).toBe(1);
    expect(sample(text, 'ferry_bans_active')).toBe(1);
    expect(sample(text, 'ferry_ftp_connections_refused_total{reason="banned"}')).toBe(2);
    expect(sample(text, 'ferry_ftp_connections_refused_total{reason="max-sessions"}')).toBe(0);
    expect(sample(text, 'ferry_ftp_sessions_total')).toBe(2); // refused connections are not sessions
  });

  it('reports the passive range capacity beside the ports in use, following a settings change', async () => {
    const h = await startHarness({ fixedSettings: { values: {}, fixedBy: {} } });
    const headers = { ...(await h.bearer()) };
    let res = await h.app.inject({ method: 'PATCH', url: '/api/v1/settings', headers, payload: { passivePorts: '40000-40009' } });
    expect(res.statusCode, res.body).toBe(200);
    let text = await scrape(h);
    expect(sample(text, 'ferry_passive_ports')).toBe(10);
    expect(sample(text, 'ferry_passive_ports_in_use')).toBe(0);
    res = await h.app.inject({ method: 'PATCH', url: '/api/v1/settings', headers, payload: { passivePorts: '40000-40099' } });
    expect(res.statusCode, res.body).toBe(200);
    text = await scrape(h);
    expect(sample(text, 'ferry_passive_ports')).toBe(100);
  });
});
