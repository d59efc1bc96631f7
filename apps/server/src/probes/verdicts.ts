/**
 * A probe link's verdict per way of connecting (plain/FTPS × passive/active), read from the transcripts and the
 * doctor's findings of the sessions its credentials opened. Pure: the route reads the stores and calls this.
 *
 * A data connection attempt starts at PASV/EPSV (`passive-listening`) or PORT/EPRT (`active-requested`, or
 * `active-refused`). It *works* when a connection of that mode opened and a transfer over it finished ok; it
 * *fails* when the attempt ended in a timeout, a refused or failed connection, a TLS failure on the data channel,
 * a failed transfer, or when the doctor's finding points at it (a client that gave up before the server's timeout).
 * Plain or FTPS is whether the control connection was TLS (AUTH TLS or implicit) at the time of the attempt.
 */
import { PROBE_MODES, probeMode, type DataMode, type ProbeMode, type ProbeVerdict } from '@ferry/contract';
import type { SessionEvent } from '@ferry/ftp-core';

export interface ProbeSessionEvidence {
  id: string;
  /** The transcript in order; only lines with an event are read. */
  lines: readonly { seq: number; text: string; event?: Record<string, unknown> }[];
  findings: readonly { code: string; title: string; severity: string; evidence: readonly number[] }[];
}

interface Attempt {
  mode: DataMode;
  /** Whether the control connection was TLS when the attempt began. */
  tls: boolean;
  seq: number;
  /** Set when the data connection opened: whether it was TLS. */
  openedTls: boolean | null;
}

interface Failure {
  sessionId: string;
  detail: string;
  codes: string[];
}

interface Tally {
  works: { sessionId: string; dataTls: boolean }[];
  fails: Failure[];
}

const SEVERITY_RANK: Record<string, number> = { error: 0, warning: 1, info: 2 };

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const unique = (items: readonly string[]) => [...new Set(items)];

/** One verdict per mode, in PROBE_MODES order; `sessions` oldest first (a failure's detail is the latest one's). */
export function probeVerdicts(sessions: readonly ProbeSessionEvidence[]): ProbeVerdict[] {
  const tallies = new Map<ProbeMode, Tally>(PROBE_MODES.map((m) => [m, { works: [], fails: [] }]));
  for (const session of sessions) readSession(session, tallies);
  return PROBE_MODES.map((mode) => verdictOf(mode, tallies.get(mode) ?? { works: [], fails: [] }));
}

function readSession(session: ProbeSessionEvidence, tallies: Map<ProbeMode, Tally>): void {
  let tls = false;
  // Assigned by the helpers below as well: declared so that TypeScript does not narrow it to null.
  let attempt = null as Attempt | null;
  const tally = (a: Attempt) => tallies.get(probeMode(a.tls, a.mode)) as Tally;
  /** The doctor's findings that cite any of these transcript lines, most severe first. */
  const findingsAt = (...seqs: number[]) =>
    session.findings
      .filter((f) => f.evidence.some((e) => seqs.includes(e)))
      .sort((a, b) => (SEVERITY_RANK[a.severity] ?? 3) - (SEVERITY_RANK[b.severity] ?? 3));
  const begin = (mode: DataMode, seq: number): Attempt => {
    settle();
    return (attempt = { mode, tls, seq, openedTls: null });
  };
  const current = (mode: DataMode, seq: number) => (attempt?.mode === mode ? attempt : begin(mode, seq));
  const fail = (a: Attempt, line: { seq: number; text: string }) => {
    const found = findingsAt(a.seq, line.seq);
    tally(a).fails.push({ sessionId: session.id, detail: found[0]?.title ?? line.text, codes: unique(found.map((f) => f.code)) });
    attempt = null;
  };
  /** An attempt that ended without a verdict of its own: failed if the doctor explains it, else nothing is known. */
  const settle = () => {
    const open = attempt;
    attempt = null;
    if (!open || open.openedTls !== null) return;
    const found = findingsAt(open.seq);
    if (found[0]) tally(open).fails.push({ sessionId: session.id, detail: found[0].title, codes: unique(found.map((f) => f.code)) });
  };

  for (const line of session.lines) {
    const event = line.event as SessionEvent | undefined;
    if (!event) continue;
    switch (event.type) {
      case 'connected':
        if (event.implicitTls) tls = true;
        break;
      case 'tls-established':
        tls = true;
        break;
      case 'passive-listening':
        begin('passive', line.seq);
        break;
      case 'active-requested':
        begin('active', line.seq);
        break;
      case 'active-refused':
        fail(begin('active', line.seq), line);
        break;
      case 'passive-exhausted':
        fail(begin('passive', line.seq), line);
        break;
      case 'data-opened':
        current(event.mode, line.seq).openedTls = event.tls;
        break;
      case 'data-timeout':
        fail(current(event.mode, line.seq), line);
        break;
      case 'data-connect-failed':
        fail(current('active', line.seq), line);
        break;
      case 'data-refused':
        fail(attempt ?? begin('passive', line.seq), line);
        break;
      case 'tls-failed':
        if (event.channel === 'data' && attempt) fail(attempt, line);
        break;
      case 'transfer-finished':
        if (attempt?.openedTls == null) break;
        if (event.outcome === 'ok') tally(attempt).works.push({ sessionId: session.id, dataTls: attempt.openedTls });
        else if (event.outcome === 'failed') {
          fail(attempt, line);
          break;
        }
        attempt = null; // a data connection carries one transfer
        break;
    }
  }
  settle();
}

function verdictOf(mode: ProbeMode, { works, fails }: Tally): ProbeVerdict {
  const findingCodes = unique(fails.flatMap((f) => f.codes));
  if (works.length > 0) {
    const sessions = unique(works.map((w) => w.sessionId));
    const clearData = mode.startsWith('ftps') && works.some((w) => !w.dataTls) ? ' The data connection was not encrypted (PROT C).' : '';
    const alsoFailed = fails.length > 0 ? ` It failed ${plural(fails.length, 'time')} as well: ${fails.at(-1)?.detail}.` : '';
    return {
      mode,
      state: 'works',
      detail: `Transfers worked in ${plural(sessions.length, 'session')}.${clearData}${alsoFailed}`,
      sessionIds: unique([...sessions, ...fails.map((f) => f.sessionId)]),
      findingCodes,
    };
  }
  if (fails.length > 0) {
    return { mode, state: 'fails', detail: fails.at(-1)?.detail ?? '', sessionIds: unique(fails.map((f) => f.sessionId)), findingCodes };
  }
  return { mode, state: 'untested', detail: 'Not tried yet.', sessionIds: [], findingCodes: [] };
}
