/**
 * The session recorder's batch as PostgreSQL writes: multi-row inserts for sessions opened, transcript lines and
 * transfers (one statement per kind and up to ROWS_PER_INSERT rows), in-order statements for what depends on order
 * (updates, closes, logins and their effect on the session, outbox events). The caller runs it in one transaction.
 */
import { and, eq, isNull, sql } from './drizzle.js';
import type { Orm, Tables } from './client.js';
import { writeOutboxEvent } from './stores/event-store.js';
import type { LineInput, RecorderItem } from './recorder.js';

/** Rows per insert: PostgreSQL takes at most 65,535 parameters per statement (transcript lines bind 6 each). */
const ROWS_PER_INSERT = 1000;

/**
 * node-postgres's own errors for a connection that broke or could not be made; they carry no code (a server that
 * closes the connection, or a network that drops it, gives "Connection terminated unexpectedly").
 */
const CONNECTION_LOST =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed)/;

/** PostgreSQL's answers when it cannot be written at all (disk full, read-only, shutting down, connection lost). */
export function postgresUnwritable(error: unknown): boolean {
  const { code = '', message = '' } = error as { code?: string; message?: string };
  return (
    /^(53|57P|08|25006)/.test(code) ||
    /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT)$/.test(code) ||
    (code === '' && CONNECTION_LOST.test(message))
  );
}

/** PostgreSQL's text cannot hold NUL, which a client may send in a command: it is written as U+FFFD instead. */
const storable = (text: string) => (text.includes('\0') ? text.replaceAll('\0', '\uFFFD') : text);

function* chunks<T>(list: readonly T[]): Generator<T[]> {
  for (let i = 0; i < list.length; i += ROWS_PER_INSERT) yield list.slice(i, i + ROWS_PER_INSERT);
}

/** Writes `batch` with `tx`; returns whether it wrote outbox events. `mask` hides a password that reached a line. */
export async function writeBatchPostgres(
  tx: Orm,
  tables: Tables,
  batch: readonly RecorderItem[],
  mask: (line: LineInput) => string,
  node: string | null,
): Promise<boolean> {
  const { sessions, transcriptLines, transfers, logins } = tables;
  let events = false;
  // A session's open is its first item, so opening all of them first keeps every later item's session in place.
  const opens = batch.flatMap((item) => (item.op === 'open' ? [item.v] : []));
  for (const rows of chunks(opens)) {
    await tx
      .insert(sessions)
      .values(
        rows.map((v) => ({
          id: v.id,
          clientAddress: v.remoteAddress,
          clientPort: v.remotePort,
          serverAddress: v.localAddress,
          serverPort: v.localPort,
          startedAt: v.startedAt,
          tls: v.tls,
          node,
        })),
      )
      .onConflictDoNothing();
  }
  const lines: LineInput[] = [];
  const transferRows: (typeof transfers.$inferInsert)[] = [];
  for (const item of batch) {
    switch (item.op) {
      case 'open':
        break;
      case 'line':
        lines.push(item.v);
        break;
      case 'transfer': {
        const { sessionId, direction, path, bytes, startedAt, durationMs, outcome } = item.v;
        transferRows.push({ sessionId, direction, path, bytes, startedAt, durationMs, outcome });
        break;
      }
      case 'update': {
        const v = item.v;
        // A null username (not logged in, or REIN) keeps the name so far; a logged-in name clears an earlier unknown-user mark.
        await tx
          .update(sessions)
          .set({
            username: v.username === null ? sql`${sessions.username}` : v.username,
            unknownUser: v.username === null ? sql`${sessions.unknownUser}` : false,
            tls: v.tls,
            clientSoftware: v.clientSoftware,
          })
          .where(eq(sessions.id, v.id));
        break;
      }
      case 'close': {
        const { id, endedAt, reason, bytesIn, bytesOut, filesIn, filesOut, outcome, ifOpen } = item.v;
        await tx
          .update(sessions)
          .set({ endedAt, endReason: reason, bytesIn, bytesOut, filesIn, filesOut, outcome })
          .where(and(eq(sessions.id, id), ifOpen ? isNull(sessions.endedAt) : undefined));
        break;
      }
      case 'login': {
        const v = item.v;
        await tx
          .insert(logins)
          .values({ at: v.at, sessionId: v.sessionId, username: v.username, address: v.address, ok: v.ok, reason: v.reason });
        if (!v.ok) {
          // The session takes the name a failed login tried, unless a login in it succeeded (that name stays).
          await tx
            .update(sessions)
            .set({ username: v.username, unknownUser: v.reason === 'unknown-user' })
            .where(
              and(
                eq(sessions.id, v.sessionId),
                sql`not exists (select 1 from ${logins} where ${logins.sessionId} = ${v.sessionId} and ${logins.ok})`,
              ),
            );
        }
        break;
      }
      case 'event':
        await writeOutboxEvent(tx, tables, item.v);
        events = true;
        break;
    }
  }
  for (const rows of chunks(transferRows)) await tx.insert(transfers).values(rows);
  for (const rows of chunks(lines)) {
    await tx
      .insert(transcriptLines)
      .values(
        rows.map((v) => ({
          sessionId: v.sessionId,
          seq: v.seq,
          at: v.at,
          kind: v.kind,
          text: storable(mask(v)),
          event: (v.event ?? null) as Record<string, unknown> | null,
        })),
      )
      .onConflictDoNothing();
  }
  return events;
}
