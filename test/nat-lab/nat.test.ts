/**
 * The transcript doctor across real NAT: every case of README's networking table, each driven by real
 * clients (Python ftplib, curl, lftp) from their own network namespace through kernel NAT routers, against
 * Ferry in the server's namespace. For each client run: whether the transfer worked, and which finding
 * codes GET /api/v1/sessions/{id}/diagnosis gives for its sessions (none, for a healthy network).
 *
 * Each scenario starts Ferry afresh on the same data folder (the doctor's memory of a client's sessions
 * starts empty, the history stays), with the routers set as the scenario says. Needs root; without it the
 * file says why and skips, and with FERRY_REQUIRE_NAT_LAB=1 (CI) it fails instead.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CreatedProbe as ProbeCreated, Finding, ProbeDetail as ProbeResult } from '@ferry/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectPageErrors, launchBrowser, newPage, saveScreenshot, signIn } from '../support/browser.js';
import { HELLO, runClient, type ClientName, type ClientOptions } from './support/clients.js';
import { startLabFerry, type LabFerry } from './support/ferry.js';
import { ADDR, Lab, labUnavailable, type Host } from './support/lab.js';
import { configure, DEFAULT_SCENARIO, PASSIVE, type Scenario } from './support/routers.js';
import { sessionsOfRun, type RunSessions } from './support/sessions.js';

const USER = 'lab';
const PASSWORD = 'lab-ftp-password-1';
const PUBLIC_NAME = 'ftp.lab.example';
const SPLIT_DNS_NAME = 'ftp-inside.lab.example';

const unavailable = labUnavailable();
if (unavailable) console.warn(`NAT lab skipped: ${unavailable}`);

/** Where the server sees each lab host's connections come from. */
const SEEN_FROM: Record<Host, string> = {
  pub: ADDR.publicClient,
  cli: ADDR.clientRouterPublic,
  lan: ADDR.lanClient,
  wan: '',
  srt: '',
  srv: '',
  crt: '',
};

let lab: Lab;
let ferry: LabFerry | null = null;
let dataDir: string | undefined;

/** Restarts Ferry for a scenario: routers set, settings patched, the doctor's client memory empty. */
async function setUp(scenario: Scenario, settings: Record<string, unknown>): Promise<void> {
  await ferry?.stop();
  ferry = null;
  configure(lab, scenario);
  ferry = await startLabFerry(lab, {}, dataDir);
  const res = await ferry.system.api('PATCH', '/api/v1/settings', {
    passiveAddress: ADDR.serverPublic,
    passiveAddressOverrides: [],
    passiveLocalForPrivateClients: true,
    dataConnectTimeoutSeconds: 3,
    ...settings,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

interface Expected {
  ok: boolean;
  codes: string[];
}

/** Runs one client and checks its outcome and the findings of the sessions it left. */
async function expectRun(client: ClientName, opts: Partial<ClientOptions> & { host: Host }, expected: Expected): Promise<RunSessions> {
  const server = opts.server ?? (opts.host === 'lan' ? ADDR.serverPrivate : ADDR.serverPublic);
  const run = await runClient(lab, client, { server, user: USER, password: PASSWORD, mode: 'passive', tls: false, ...opts });
  const seenFrom = opts.server?.includes(':') ? ADDR.publicClient6 : SEEN_FROM[opts.host];
  const found = await sessionsOfRun(ferry!.system, seenFrom, run.startedAt);
  const what = `${run.label}: ${run.output}\nfindings: ${JSON.stringify(found.findings.map((f) => [f.code, f.severity, f.title]))}`;
  expect(run.ok, what).toBe(expected.ok);
  expect(found.sessions.length, what).toBeGreaterThan(0);
  expect(found.codes, what).toEqual([...expected.codes].sort());
  // A session whose data connection failed is never stored as "ok".
  if (!expected.ok)
    expect(
      found.sessions.some((s) => s.outcome === 'problems'),
      what,
    ).toBe(true);
  return found;
}

function finding(found: RunSessions, code: string): Finding {
  const f = found.findings.find((x) => x.code === code);
  if (!f) throw new Error(`no ${code} in ${found.codes.join(', ')}`);
  return f;
}

const WORKS: Expected = { ok: true, codes: [] };

describe.skipIf(unavailable !== null)('the transcript doctor in a NAT lab', () => {
  beforeAll(async () => {
    lab = Lab.create();
    lab.hostsFile('srv', { [PUBLIC_NAME]: ADDR.serverPublic, [SPLIT_DNS_NAME]: ADDR.serverPrivate });
    configure(lab, DEFAULT_SCENARIO);
    dataDir = mkdtempSync(path.join(tmpdir(), 'ferry-nat-lab-data-'));
    ferry = await startLabFerry(lab, {}, dataDir);
    const res = await ferry.system.api('POST', '/api/v1/users', { username: USER, password: PASSWORD });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    mkdirSync(path.join(dataDir, 'files', USER), { recursive: true });
    writeFileSync(path.join(dataDir, 'files', USER, 'hello.txt'), HELLO);
  });

  afterAll(async () => {
    await ferry?.stop();
    lab?.destroy();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('correct set-up (advertised address, whole range forwarded): every client works, plain and FTPS, no finding', async () => {
    await setUp(DEFAULT_SCENARIO, {});
    for (const client of ['ftplib', 'curl', 'lftp'] as const) {
      for (const tls of [false, true]) await expectRun(client, { host: 'pub', tls }, WORKS);
    }
    await expectRun('curl', { host: 'pub', honourPasvAddress: true }, WORKS);
    await expectRun('ftplib', { host: 'pub', mode: 'active' }, WORKS);
  });

  it('passive range not forwarded: blamed on the forward, whether the client connects first or sends LIST first', async () => {
    await setUp({ ...DEFAULT_SCENARIO, server: { forward: null, helper: false } }, {});
    const never = { ok: false, codes: ['passive-data-never-arrived'] };
    const found = await expectRun('ftplib', { host: 'pub' }, never);
    expect(finding(found, 'passive-data-never-arrived').fix).toContain(`${PASSIVE.min}-${PASSIVE.max}`);
    await expectRun('ftplib', { host: 'pub', tls: true }, never);
    await expectRun('curl', { host: 'pub' }, never);
    await expectRun('lftp', { host: 'pub' }, never);
  });

  it('half the passive range forwarded: the failed ports are named beside the ones that worked', async () => {
    // Ports are handed out in turn from the range's start (a fresh server), and a session keeps a port that worked:
    // the first five attempts go to ports the router does not forward, then the sixth port works and stays.
    const forwarded = { min: PASSIVE.min + 5, max: PASSIVE.max };
    await setUp({ ...DEFAULT_SCENARIO, server: { forward: forwarded, helper: false } }, {});
    const found = await expectRun('ftplib', { host: 'pub', repeat: 8 }, { ok: false, codes: ['passive-data-never-arrived'] });
    const f = finding(found, 'passive-data-never-arrived');
    expect(f.explanation).toContain(`Only part of the passive range ${PASSIVE.min}-${PASSIVE.max}`);
    expect(f.title).toMatch(new RegExp(`${PASSIVE.min}|${PASSIVE.min + 1}`));
    expect(f.explanation).toMatch(new RegExp(`while [^.]*${PASSIVE.min + 5}`));
  });

  it('no advertised address (227 carries the private address): wrong for clients that trust it, a warning for those that cope', async () => {
    await setUp(DEFAULT_SCENARIO, { passiveAddress: null });
    const unreachable = { ok: false, codes: ['passive-address-unreachable', 'passive-data-never-arrived'] };
    const trusted = await expectRun('ftplib', { host: 'pub' }, unreachable);
    const f = finding(trusted, 'passive-address-unreachable');
    expect(f.severity).toBe('error');
    expect(f.title).toContain(ADDR.serverPrivate);
    expect(f.fix).toContain('FERRY_PASV_ADDRESS');
    await expectRun('curl', { host: 'pub', honourPasvAddress: true }, unreachable);
    // curl's EPSV carries no address at all.
    await expectRun('curl', { host: 'pub' }, WORKS);
    await expectRun('curl', { host: 'pub', tls: true }, WORKS);
    // lftp replaces a private 227 address by the server's: it works, and the session says why it is fragile.
    const coped = await expectRun('lftp', { host: 'pub' }, { ok: true, codes: ['passive-address-unreachable'] });
    expect(finding(coped, 'passive-address-unreachable').severity).toBe('warning');
    expect(coped.sessions.every((s) => s.outcome === 'ok')).toBe(true);
    const copedTls = await expectRun('lftp', { host: 'pub', tls: true }, { ok: true, codes: ['passive-address-unreachable'] });
    expect(finding(copedTls, 'passive-address-unreachable').explanation).toContain('no router rewrote the reply');
  });

  it('a wrong advertised address: suspected when a PASV client fails, named once EPSV is seen to work from the client', async () => {
    const wrong = '203.0.113.99';
    await setUp(DEFAULT_SCENARIO, { passiveAddress: wrong });
    const alone = await expectRun('ftplib', { host: 'pub' }, { ok: false, codes: ['passive-data-never-arrived'] });
    expect(finding(alone, 'passive-data-never-arrived').explanation).toContain(`the client was sent to ${wrong}`);
    await expectRun('curl', { host: 'pub' }, WORKS); // EPSV: the address the client connected to
    const named = await expectRun(
      'ftplib',
      { host: 'pub' },
      { ok: false, codes: ['passive-address-unreachable', 'passive-data-never-arrived'] },
    );
    const f = finding(named, 'passive-address-unreachable');
    expect(f.title).toBe(`The advertised address ${wrong} is not where the client reaches this server`);
    expect(f.fix).toContain('FERRY_PASV_ADDRESS');
  });

  it("server router's FTP helper rewrites 227: plain FTP works, FTPS does not, and the doctor names the helper", async () => {
    await setUp({ ...DEFAULT_SCENARIO, server: { forward: PASSIVE, helper: true } }, { passiveAddress: null });
    const plain = await expectRun('ftplib', { host: 'pub' }, { ok: true, codes: ['passive-address-unreachable'] });
    expect(finding(plain, 'passive-address-unreachable').severity).toBe('warning');
    expect(finding(plain, 'passive-address-unreachable').explanation).toContain("router's FTP helper");
    const ftps = await expectRun(
      'ftplib',
      { host: 'pub', tls: true },
      { ok: false, codes: ['passive-address-unreachable', 'passive-data-never-arrived', 'router-ftp-helper'] },
    );
    const helper = finding(ftps, 'router-ftp-helper');
    expect(helper.severity).toBe('error');
    expect(helper.explanation).toContain('worked in plain FTP');
    expect(helper.fix).toContain('Advertised address');
  });

  it('client behind NAT in active mode: refused and explained; with its router helper plain works and FTPS does not', async () => {
    await setUp(DEFAULT_SCENARIO, {});
    const refused = { ok: false, codes: ['active-private-target'] };
    const found = await expectRun('ftplib', { host: 'cli', mode: 'active' }, refused);
    expect(finding(found, 'active-private-target').fix).toContain('passive mode');
    await expectRun('curl', { host: 'cli', mode: 'active' }, refused);
    await expectRun('lftp', { host: 'cli', mode: 'active' }, refused);
    await expectRun('ftplib', { host: 'cli', mode: 'active', tls: true }, refused);

    await setUp({ ...DEFAULT_SCENARIO, client: { helper: true, pool: false } }, {});
    await expectRun('ftplib', { host: 'cli', mode: 'active' }, WORKS);
    await expectRun('curl', { host: 'cli', mode: 'active' }, WORKS);
    const ftps = await expectRun(
      'ftplib',
      { host: 'cli', mode: 'active', tls: true },
      { ok: false, codes: ['active-private-target', 'router-ftp-helper'] },
    );
    expect(finding(ftps, 'router-ftp-helper').title).toContain('Active mode works in plain FTP but not over FTPS');
    expect(finding(ftps, 'active-private-target').explanation).toContain('cannot rewrite the encrypted PORT command');
  });

  it('hairpin: a LAN client told the public address by a router without NAT loopback, then fixed by the setting', async () => {
    await setUp(DEFAULT_SCENARIO, { passiveLocalForPrivateClients: false });
    const hairpin = { ok: false, codes: ['passive-address-hairpin', 'passive-data-never-arrived'] };
    const found = await expectRun('ftplib', { host: 'lan' }, hairpin);
    const f = finding(found, 'passive-address-hairpin');
    expect(f.explanation).toContain(ADDR.serverPublic);
    expect(f.fix).toContain('Clients on private networks get the local address');
    expect(f.fix).toContain(`10.0.1.0/24 → ${ADDR.serverPrivate}`);
    // curl uses EPSV, which carries no address; lftp copes as well.
    await expectRun('curl', { host: 'lan' }, WORKS);
    await expectRun('lftp', { host: 'lan' }, WORKS);
    // The fix the finding names.
    await setUp(DEFAULT_SCENARIO, { passiveLocalForPrivateClients: true });
    await expectRun('ftplib', { host: 'lan' }, WORKS);
  });

  it("a client firewall that drops the server's active-mode connection", async () => {
    await setUp({ ...DEFAULT_SCENARIO, publicClientFirewall: true }, {});
    const found = await expectRun('ftplib', { host: 'pub', mode: 'active' }, { ok: false, codes: ['active-connect-failed'] });
    expect(finding(found, 'active-connect-failed').title).toContain(ADDR.publicClient);
    await expectRun('ftplib', { host: 'pub' }, WORKS); // passive is the fix
  });

  it('data connections from another public address of a NAT pool are refused and explained', async () => {
    await setUp({ ...DEFAULT_SCENARIO, client: { helper: false, pool: true } }, {});
    const found = await expectRun('ftplib', { host: 'cli' }, { ok: false, codes: ['data-foreign-peer'] });
    expect(finding(found, 'data-foreign-peer').title).toContain(ADDR.clientRouterPool);
    await expectRun('curl', { host: 'cli' }, { ok: false, codes: ['data-foreign-peer'] });
  });

  it('the advertised address as a host name: resolved on the server, and named when it resolves to a private address', async () => {
    await setUp(DEFAULT_SCENARIO, { passiveAddress: PUBLIC_NAME });
    await expectRun('ftplib', { host: 'pub' }, WORKS);
    await setUp(DEFAULT_SCENARIO, { passiveAddress: SPLIT_DNS_NAME });
    const found = await expectRun(
      'ftplib',
      { host: 'pub' },
      { ok: false, codes: ['passive-address-unreachable', 'passive-data-never-arrived'] },
    );
    const f = finding(found, 'passive-address-unreachable');
    expect(f.explanation).toContain(`set to the name ${SPLIT_DNS_NAME}, which resolved on the server to ${ADDR.serverPrivate}`);
    expect(f.fix).toContain('split DNS');
  });

  it('IPv6 end to end through the router firewall: EPSV works; a closed range is found', async () => {
    await setUp(DEFAULT_SCENARIO, {});
    for (const client of ['ftplib', 'curl', 'lftp'] as const) await expectRun(client, { host: 'pub', server: ADDR.server6 }, WORKS);
    await expectRun('curl', { host: 'pub', server: ADDR.server6, tls: true }, WORKS);
    await setUp({ ...DEFAULT_SCENARIO, server: { forward: null, helper: false } }, {});
    await expectRun('curl', { host: 'pub', server: ADDR.server6 }, { ok: false, codes: ['passive-data-never-arrived'] });
  });

  it("a test link's commands, run from a customer network whose router has an FTP helper: a verdict per mode", async () => {
    await setUp({ ...DEFAULT_SCENARIO, client: { helper: true, pool: false } }, {});
    const system = ferry!.system;
    const created = await system.api('POST', '/api/v1/probes', { ttlMinutes: 30, maxSessions: 20, note: 'NAT lab' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const { probe, commands } = created.body as ProbeCreated;
    const command = (id: string) => {
      const found = commands.find((c) => c.id === id);
      if (!found) throw new Error(`no command ${id} in ${commands.map((c) => c.id).join(', ')}`);
      expect(found.command).toContain(ADDR.serverPublic); // the advertised address, as the customer reaches it
      return found.command;
    };
    // As the customer pastes them, from the network behind the NAT router (curl cannot do active FTPS on
    // Debian 12, so that mode runs with lftp, as the link's label says).
    const outcomes: Record<string, number | null> = {};
    for (const id of ['curl-plain-passive', 'curl-plain-active', 'curl-ftps-passive', 'lftp-ftps-active']) {
      const started = Date.now();
      const r = await lab.run('cli', ['sh', '-c', command(id)], { timeoutMs: 90_000 });
      outcomes[id] = r.code;
      await sessionsOfRun(system, ADDR.clientRouterPublic, started);
    }
    // lftp's exit code is its last command's (bye): the verdict below is what tells.
    expect(outcomes).toMatchObject({ 'curl-plain-passive': 0, 'curl-plain-active': 0, 'curl-ftps-passive': 0 });

    const detail = await system.api('GET', `/api/v1/probes/${probe.id}`);
    expect(detail.status).toBe(200);
    const verdicts = Object.fromEntries((detail.body as ProbeResult).verdicts.map((v) => [v.mode, v]));
    const what = JSON.stringify(verdicts);
    expect(verdicts['plain-passive']?.state, what).toBe('works');
    expect(verdicts['plain-active']?.state, what).toBe('works');
    expect(verdicts['ftps-passive']?.state, what).toBe('works');
    expect(verdicts['ftps-active']?.state, what).toBe('fails');
    expect(verdicts['ftps-active']?.findingCodes, what).toEqual(expect.arrayContaining(['active-private-target', 'router-ftp-helper']));
    expect((detail.body as ProbeResult).sessions.every((s) => s.remoteAddress === ADDR.clientRouterPublic)).toBe(true);
  });

  it("shows a lab failure's explanation beside its transcript in the dashboard", async () => {
    await setUp({ ...DEFAULT_SCENARIO, server: { forward: null, helper: false } }, {});
    const found = await expectRun('ftplib', { host: 'pub' }, { ok: false, codes: ['passive-data-never-arrived'] });
    const session = found.sessions[0]!;
    const system = ferry!.system;
    const browser = await launchBrowser();
    try {
      const page = await newPage(browser);
      const errors = collectPageErrors(page);
      await signIn(page, system);
      await page.goto(`${system.httpUrl}/sessions/history/${encodeURIComponent(session.id)}`);
      const transcript = page.getByRole('region', { name: 'Stored transcript' });
      const card = transcript.getByRole('article', { name: 'Diagnosis: The client never opened the passive data connection' });
      await card.waitFor();
      expect(await card.innerText()).toContain('moved on without it');
      expect(await card.innerText()).toContain(`${PASSIVE.min}-${PASSIVE.max}`);
      // The card sits right after its last evidence line, in the transcript itself.
      const before = await card.evaluate((el) => el.closest('li')?.previousElementSibling?.className ?? '');
      expect(before).toContain('evidence');
      expect(await transcript.innerText()).toContain('PASV');
      await card.scrollIntoViewIfNeeded();
      await saveScreenshot(page, 'nat-lab-finding');
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});

// Where the lab is required (CI), a machine that cannot run it fails instead of skipping.
if (unavailable !== null && process.env.FERRY_REQUIRE_NAT_LAB === '1') {
  describe('the NAT lab where it is required', () => {
    it('can run on this machine', () => {
      throw new Error(`the NAT lab cannot run: ${unavailable}`);
    });
  });
}
