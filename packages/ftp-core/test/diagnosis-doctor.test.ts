import { describe, expect, it } from 'vitest';
import { createSessionDoctor, diagnose, FINDING_CODES, type Finding } from '../src/diagnosis/index.js';
import { MAX_EVIDENCE } from '../src/diagnosis/rules/common.js';
import { contextFor, TranscriptBuilder } from './diagnosis-builders.js';
import { SCENARIOS } from './diagnosis-scenarios.js';

describe('diagnose over recorded sessions', () => {
  it.each(SCENARIOS.map((s) => [s.name, s] as const))('%s', (_name, scenario) => {
    const { lines, ctx } = scenario.build();
    const findings = diagnose(lines, ctx);
    expect(findings.map((f) => f.code).sort()).toEqual([...scenario.codes].sort());
    const seqs = new Set(lines.map((l) => l.seq));
    for (const finding of findings) {
      expect(FINDING_CODES).toContain(finding.code);
      expect(finding.evidence.length).toBeGreaterThan(0);
      for (const seq of finding.evidence) expect(seqs).toContain(seq);
      expect(finding.evidence).toEqual([...finding.evidence].sort((a, b) => a - b));
      expect(finding.title.length).toBeGreaterThan(10);
      expect(finding.explanation.length).toBeGreaterThan(40);
      expect(finding.fix.length).toBeGreaterThan(20);
      expect(finding.explanation).not.toMatch(/undefined|null|NaN|\[object/);
      expect(finding.fix).not.toMatch(/undefined|null|NaN|\[object/);
    }
  });

  it('every code is produced by some scenario', () => {
    const produced = new Set(SCENARIOS.flatMap((s) => s.codes));
    const missing = FINDING_CODES.filter((c) => !produced.has(c));
    expect(missing).toEqual([]);
  });
});

describe('context', () => {
  it.each(SCENARIOS.map((s) => [s.name, s] as const))(
    'without session addresses, the connected event supplies them: %s',
    (_name, scenario) => {
      const { lines, ctx } = scenario.build();
      const { sessionRemoteAddress: _remote, sessionLocalAddress: _local, ...rest } = ctx;
      expect(diagnose(lines, rest)).toEqual(diagnose(lines, ctx));
    },
  );
});

describe('createSessionDoctor', () => {
  it.each(SCENARIOS.map((s) => [s.name, s] as const))('push() streams exactly what diagnose() finds: %s', (_name, scenario) => {
    const { lines, ctx } = scenario.build();
    const doctor = createSessionDoctor(ctx);
    const streamed: Finding[] = [];
    for (const line of lines) streamed.push(...doctor.push(line));
    streamed.push(...doctor.finish());
    const expected = diagnose(lines, ctx);
    expect(streamed.map((f) => f.code)).toEqual(expected.map((f) => f.code));
    expect(doctor.findings()).toEqual(expected);
  });

  it('reports a finding once per session and accumulates its evidence', () => {
    const t = new TranscriptBuilder();
    t.connect().login();
    const first = t.pasv();
    const list1 = t.cmd('LIST');
    const timeout1 = t.event({ type: 'data-timeout', mode: 'passive', port: 50007, waitedMs: 20_000 }, 20_000);
    const second = t.pasv('198.51.100.10', 50008);
    const list2 = t.cmd('NLST');
    const timeout2 = t.event({ type: 'data-timeout', mode: 'passive', port: 50008, waitedMs: 20_000 }, 20_000);
    const doctor = createSessionDoctor(contextFor(t));
    const pushed = t.lines.map((line) => doctor.push(line));
    expect(pushed.flat().map((f) => f.code)).toEqual(['passive-data-never-arrived']);
    expect(pushed[timeout1 - 1]?.map((f) => f.evidence)).toEqual([[first, list1, timeout1]]);
    const [finding] = doctor.findings();
    expect(finding?.evidence).toEqual([first, list1, timeout1, second, list2, timeout2]);
    expect(finding?.at).toBe(t.lines[first - 1]?.at);
  });

  it('hands out a finding again when it changes, so that a live view can replace it', () => {
    const t = new TranscriptBuilder();
    t.connect().login();
    t.pasv('10.0.0.5', 50007);
    t.cmd('LIST');
    const opened = t.event({
      type: 'data-opened',
      mode: 'passive',
      local: '10.0.0.5:50007',
      peer: `${t.client}:1`,
      tls: false,
      tlsResumed: null,
    });
    const doctor = createSessionDoctor(contextFor(t));
    const seen: { fresh: Finding[]; revised: Finding[] }[] = [];
    for (const line of t.lines) seen.push({ fresh: doctor.push(line), revised: doctor.takeRevised() });
    const appeared = seen.flatMap((s) => s.fresh);
    expect(appeared.map((f) => [f.code, f.severity])).toEqual([['passive-address-unreachable', 'error']]);
    // The data connection arrived anyway: the same finding, now a warning, handed out once more.
    expect(seen[opened - 1]?.revised.map((f) => [f.code, f.severity])).toEqual([['passive-address-unreachable', 'warning']]);
    expect(seen.flatMap((s) => s.revised)).toHaveLength(1);
    expect(doctor.takeRevised()).toEqual([]);
    expect(doctor.findings()[0]?.severity).toBe('warning');
  });

  it('ignores replayed lines and lines after finish()', () => {
    const t = new TranscriptBuilder();
    t.connect();
    const user = t.cmd('USER x');
    const failed = t.event({ type: 'login-failed', username: 'x', reason: 'disabled' });
    const doctor = createSessionDoctor(contextFor(t));
    for (const line of t.lines) doctor.push(line);
    expect(doctor.push(t.lines[failed - 1]!)).toEqual([]);
    doctor.finish();
    expect(doctor.finish()).toEqual([]);
    const late = { ...t.lines[failed - 1]!, seq: 99 };
    expect(doctor.push(late)).toEqual([]);
    expect(doctor.findings()[0]?.evidence).toEqual([user, failed]);
  });

  it('returns copies: callers cannot change its state', () => {
    const t = new TranscriptBuilder();
    t.connect();
    t.event({ type: 'login-failed', username: 'x', reason: 'expired' });
    const doctor = createSessionDoctor(contextFor(t));
    for (const line of t.lines) doctor.push(line);
    doctor.findings()[0]!.evidence.push(1234);
    expect(doctor.findings()[0]!.evidence).not.toContain(1234);
  });

  it('judges a wait that has not ended yet by the clock', () => {
    const t = new TranscriptBuilder();
    t.connect().login();
    t.pasv();
    t.cmd('LIST');
    expect(diagnose(t.lines, contextFor(t, {}, t.at + 1_000))).toEqual([]);
    expect(diagnose(t.lines, contextFor(t, {}, t.at + 25_000)).map((f) => f.code)).toEqual(['passive-data-never-arrived']);
  });
});

// A client can repeat one mistake as often as the command rate lets it (a permission denied on a new path each time,
// a plain USER where TLS is required): what the doctor keeps and hands on per report must not grow with it.
describe('a session repeating one mistake for hours', () => {
  it('keeps a finding to the first and latest evidence lines and names a bounded number of paths', () => {
    const t = new TranscriptBuilder();
    t.connect().login();
    const doctor = createSessionDoctor(contextFor(t));
    const lines = t.lines.length;
    for (let i = 0; i < 20_000; i++) {
      t.cmd(`DELE /${'a'.repeat(200)}${i}`);
      t.event({ type: 'permission-denied', path: `/${'a'.repeat(200)}${i}`, permission: 'delete', rule: '/' });
      t.reply('550 Permission denied');
    }
    const revisedSizes: number[] = [];
    for (const line of t.lines.slice(0, lines)) doctor.push(line);
    for (const line of t.lines.slice(lines)) {
      doctor.push(line);
      for (const revised of doctor.takeRevised()) revisedSizes.push(JSON.stringify(revised).length);
    }
    const [finding] = doctor.findings().filter((f) => f.code === 'permission-denied');
    expect(finding!.evidence).toHaveLength(MAX_EVIDENCE);
    expect(finding!.evidence.slice(-1)).toEqual([t.lines.length - 1]); // the latest denial is among them
    expect(finding!.title).toBe('Permission denied on 20000 paths');
    expect(finding!.explanation).toContain('and 19997 more');
    // What a live view is sent for each revision stays the same size from the 50th denial on.
    expect(Math.max(...revisedSizes)).toBeLessThan(12_000);
    expect(revisedSizes.at(-1)! - revisedSizes[100]!).toBeLessThan(100);
  });

  it('keeps the latest lines of a refusal repeated on every login attempt', () => {
    const t = new TranscriptBuilder();
    t.connect();
    let last = 0;
    for (let i = 0; i < 200; i++) {
      t.cmd('USER bob');
      last = t.event({ type: 'login-failed', username: 'bob', reason: 'tls-required' });
      t.reply('530 This server requires TLS');
    }
    const finding = diagnose(t.lines, contextFor(t)).find((f) => f.code === 'tls-required-by-policy');
    expect(finding?.evidence).toHaveLength(MAX_EVIDENCE);
    expect(finding?.evidence).toContain(last);
    expect(finding?.evidence[0]).toBe(3); // the first USER, after the greeting's two lines
  });
});
