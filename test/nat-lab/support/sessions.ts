/**
 * The sessions a client run left in Ferry's history and what the doctor said about them, over the API.
 */
import type { Finding, SessionRecord } from '@ferry/contract';
import type { System } from '../../support/start-system.js';

export interface RunSessions {
  sessions: SessionRecord[];
  /** Every finding of those sessions, in session order. */
  findings: Finding[];
  /** Sorted unique finding codes. */
  codes: string[];
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The sessions from `address` that started at or after `since`, once all of them have ended and their
 * findings are stored (waits at most `timeoutMs`).
 */
export async function sessionsOfRun(system: System, address: string, since: number, timeoutMs = 15_000): Promise<RunSessions> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const res = await system.api('GET', `/api/v1/sessions/history?address=${encodeURIComponent(address)}&limit=100`);
    if (res.status !== 200) throw new Error(`GET history ${res.status}: ${JSON.stringify(res.body)}`);
    const sessions = (res.body.items as SessionRecord[]).filter((s) => s.startedAt >= since - 50);
    const done = sessions.length > 0 && sessions.every((s) => s.endedAt !== null);
    if (done || Date.now() > end) {
      // Findings are written shortly after a session ends.
      await delay(done ? 700 : 0);
      const findings: Finding[] = [];
      for (const s of [...sessions].reverse()) {
        const d = await system.api('GET', `/api/v1/sessions/${s.id}/diagnosis`);
        if (d.status === 200) findings.push(...(d.body.items as Finding[]));
      }
      const codes = [...new Set(findings.map((f) => f.code))].sort();
      return { sessions, findings, codes };
    }
    await delay(200);
  }
}
