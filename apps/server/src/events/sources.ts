/**
 * Where events come from: the FTP engine (logins, transfers, file changes, quotas, session ends), the
 * transcript doctor's findings, bans, the audit log and a daily look at the FTPS certificate. Each source
 * asks the outbox first whether any rule wants the type, so events nobody wants cost nothing.
 */
import type { Finding } from '@ferry/contract';
import type { EventStore } from '@ferry/db';
import type { FtpServer, FtpServerEvents } from '@ferry/ftp-core';
import { subscribe, type EngineListener as Listener } from '../adapters/engine-listeners.js';
import type { EventOutbox } from './outbox.js';

interface SessionFacts {
  user: string | null;
  clientAddress: string;
  tls: boolean;
}

/** Session facts events need after the engine forgot the session (findings at close). */
export class SessionDirectory {
  readonly #sessions = new Map<string, SessionFacts>();
  readonly #detach: () => void;

  constructor(server: FtpServer) {
    const onOpen: Listener<'session:open'> = (s) =>
      void this.#sessions.set(s.id, { user: s.username, clientAddress: s.remoteAddress, tls: s.tls });
    const onUpdate: Listener<'session:update'> = (s) =>
      void this.#sessions.set(s.id, { user: s.username, clientAddress: s.remoteAddress, tls: s.tls });
    this.#detach = subscribe(server, { 'session:open': onOpen, 'session:update': onUpdate });
  }

  get(sessionId: string): SessionFacts | undefined {
    return this.#sessions.get(sessionId);
  }

  /** After the session's last event (its close was handled). */
  forget(sessionId: string): void {
    this.#sessions.delete(sessionId);
  }

  close(): void {
    this.#detach();
  }
}

/** Engine events → outbox. Returns a function that unsubscribes. */
export function engineEvents(server: FtpServer, outbox: EventOutbox, sessions: SessionDirectory): () => void {
  const facts = (sessionId: string) => {
    const s = sessions.get(sessionId);
    return { sessionId, user: s?.user ?? null, clientAddress: s?.clientAddress ?? '' };
  };
  const onLine: Listener<'transcript'> = (line) => {
    const e = line.event;
    if (!e) return;
    if (e.type === 'login' && outbox.wants('login.succeeded')) {
      outbox.session('login.succeeded', { ...facts(line.sessionId), user: e.username, tls: sessions.get(line.sessionId)?.tls ?? false });
    } else if (e.type === 'login-failed' && outbox.wants('login.failed')) {
      outbox.session('login.failed', { ...facts(line.sessionId), user: e.username, reason: e.reason });
    } else if (e.type === 'quota-exceeded' && outbox.wants('quota.exceeded')) {
      outbox.session('quota.exceeded', {
        ...facts(line.sessionId),
        path: e.path,
        hostPath: null,
        quotaBytes: e.quotaBytes,
        quotaFiles: e.quotaFiles,
      });
    }
  };
  const onTransfer: Listener<'transfer'> = (t) => {
    if (t.direction === 'listing') return;
    const type = t.outcome !== 'ok' ? 'transfer.failed' : t.direction === 'upload' ? 'upload.completed' : 'download.completed';
    if (!outbox.wants(type)) return;
    const data: Record<string, unknown> = {
      ...facts(t.sessionId),
      user: t.username,
      path: t.path,
      hostPath: t.hostPath,
      size: t.bytes,
      durationMs: t.durationMs,
      offset: t.offset,
    };
    if (type === 'transfer.failed') Object.assign(data, { direction: t.direction, outcome: t.outcome, error: t.error ?? null });
    outbox.session(type, data);
  };
  const FILE_TYPES = {
    deleted: 'file.deleted',
    renamed: 'file.renamed',
    'folder-created': 'folder.created',
    'folder-removed': 'folder.removed',
  } as const;
  const onFile: Listener<'file'> = (c) => {
    const type = FILE_TYPES[c.action];
    if (!outbox.wants(type)) return;
    const data: Record<string, unknown> = { ...facts(c.sessionId), user: c.username, path: c.path, hostPath: c.hostPath };
    if (c.action === 'renamed') Object.assign(data, { from: c.from ?? null, hostFrom: c.hostFrom ?? null });
    outbox.session(type, data);
  };
  return subscribe(server, { transcript: onLine, transfer: onTransfer, file: onFile });
}

/** A session's end, with the outcome session recording decided. */
export function sessionClosedEvent(outbox: EventOutbox, s: FtpServerEvents['session:close'][0], outcome: string): void {
  if (!outbox.wants('session.closed')) return;
  outbox.session('session.closed', {
    sessionId: s.id,
    user: s.username,
    clientAddress: s.remoteAddress,
    reason: s.reason,
    outcome,
    durationMs: Math.max(0, s.endedAt - s.startedAt),
    bytesIn: s.bytesIn,
    bytesOut: s.bytesOut,
    filesIn: s.filesIn,
    filesOut: s.filesOut,
  });
}

/** New findings of the transcript doctor. */
export function findingEvents(outbox: EventOutbox, sessions: SessionDirectory, sessionId: string, findings: readonly Finding[]): void {
  if (!outbox.wants('finding.raised')) return;
  const s = sessions.get(sessionId);
  for (const f of findings) {
    outbox.session('finding.raised', {
      sessionId,
      user: s?.user ?? null,
      clientAddress: s?.clientAddress ?? '',
      code: f.code,
      severity: f.severity,
      title: f.title,
      explanation: f.explanation,
      fix: f.fix,
    });
  }
}

const DAY = 86_400_000;
/** Days before expiry at which certificate.expiring is sent, once each per certificate. */
export const CERTIFICATE_WARNINGS = [30, 7, 1] as const;

/**
 * Sends certificate.expiring when the FTPS certificate crosses 30, 7 or 1 days before its expiry, once per
 * certificate and threshold (remembered in the database, so a restart does not send it again).
 */
export async function checkCertificate(
  outbox: EventOutbox,
  store: EventStore,
  cert: { expiresAt: number | null; fingerprint: string | null },
  now: number,
): Promise<void> {
  if (cert.expiresAt === null || cert.fingerprint === null || !outbox.wants('certificate.expiring')) return;
  const daysLeft = Math.floor((cert.expiresAt - now) / DAY);
  const threshold = [...CERTIFICATE_WARNINGS].reverse().find((t) => daysLeft < t) ?? null;
  if (threshold === null) return;
  const key = `certificate.expiring:${cert.fingerprint}`;
  const sent = Number((await store.mark(key)) ?? Infinity);
  if (sent <= threshold) return;
  await outbox.direct('certificate.expiring', {
    expiresAt: cert.expiresAt,
    daysLeft: Math.max(daysLeft, 0),
    threshold,
    fingerprint: cert.fingerprint,
  });
  await store.setMark(key, String(threshold));
}
