/** Live sessions (from the engine) and recorded history, transcripts, transfers and findings (from SQLite). */
import { Readable } from 'node:stream';
import {
  Finding,
  HistoryItem,
  LiveSession,
  Page,
  SessionHistoryQuery,
  SessionRecord,
  Transfer,
  TranscriptLine,
  HistoryFilters,
  SessionExport,
  TranscriptLinePage,
} from '@ferry/contract';
import type { HistoryFilters as DbHistoryFilters, TranscriptLineRecord } from '@ferry/db';
import { transcriptSeverity } from '@ferry/ftp-core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { audit } from '../audit.js';
import { Errors, invalidField } from '../errors.js';
import { historyCsv } from '../exports/history-csv.js';
import { exportFileName, sessionText } from '../exports/session-text.js';
import { parseCidr } from '../net/address.js';
import { textResponse } from './openapi.js';
import { serverTimeZone } from './server.js';
import type { Services } from '../services.js';

export interface SessionsRouteOptions {
  services: Pick<Services, 'stores' | 'ftp' | 'hub' | 'info' | 'settings' | 'cluster'>;
}

/** Most sessions of other nodes GET /sessions lists. */
const REMOTE_SESSIONS_MAX = 5_000;

/** `host:port` or `[v6]:port`, as SessionRecord.serverAddress has it. */
function splitHostPort(value: string): { host: string; port: number } {
  const at = value.lastIndexOf(':');
  const host = value.slice(0, at);
  return { host: host.startsWith('[') ? host.slice(1, -1) : host, port: Number(value.slice(at + 1)) };
}

/** Most rows a CSV export of the history holds. */
export const CSV_MAX_ROWS = 100_000;

const SessionParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
const LiveSessionsQuery = Type.Object({
  nodes: Type.Optional(
    Type.Enum(['all', 'this', 'others'] as const, {
      description: 'all (default): every node’s sessions; this: only the answering node’s; others: only the other nodes’',
    }),
  ),
});
const TranscriptQuery = Type.Object({
  format: Type.Optional(
    Type.Enum(['json', 'text'] as const, {
      description: 'Without: a page of lines. json: the whole session as one SessionExport document; text: the same as plain text',
    }),
  ),
  /** Lines after this sequence number (the previous page's nextCursor). */
  cursor: Type.Optional(Type.String({ pattern: '^\\d{1,10}$' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, default: 10_000 })),
});

export const sessionsRoutes: FastifyPluginAsyncTypebox<SessionsRouteOptions> = async (app, { services }) => {
  const { sessions, transcripts, findings } = services.stores;
  /** Every line of a session, read 10,000 at a time. */
  async function allLines(id: string): Promise<TranscriptLineRecord[]> {
    const lines: TranscriptLineRecord[] = [];
    let afterSeq: number | undefined;
    for (;;) {
      const page = await transcripts.lines(id, { afterSeq, limit: 10_000 });
      lines.push(...page);
      const last = page.at(-1);
      if (!last || page.length < 10_000) return lines;
      afterSeq = last.seq;
    }
  }
  const recorded = async (id: string) => {
    const session = await sessions.get(id);
    if (!session) throw Errors.SessionNotFound(id);
    return session;
  };

  app.get(
    '/sessions',
    {
      config: { role: 'viewer' },
      schema: {
        operationId: 'listLiveSessions',
        tags: ['sessions'],
        summary: 'Sessions connected now, on this node and on every other node that is up',
        description:
          'Sessions on other nodes (`remote: true`) come from the database: their state, byte counts and transfer are as recorded, not live.',
        querystring: LiveSessionsQuery,
        response: { 200: Page(LiveSession) },
      },
    },
    async (req) => {
      const nodes = req.query.nodes ?? 'all';
      return {
        items: [...(nodes === 'others' ? [] : services.hub.liveSessions()), ...(nodes === 'this' ? [] : await otherNodesSessions())],
        nextCursor: null,
      };
    },
  );

  /** Unfinished sessions of the other nodes that are up, as recorded. */
  async function otherNodesSessions(): Promise<LiveSession[]> {
    const me = services.cluster.node;
    const up = new Set((await services.cluster.nodes()).filter((n) => n.state === 'up' && n.name !== me).map((n) => n.name));
    if (up.size === 0) return [];
    const rows = await sessions.unfinished(REMOTE_SESSIONS_MAX, { exceptNode: me });
    return rows
      .filter((r) => r.node !== null && up.has(r.node))
      .map((r) => {
        const local = splitHostPort(r.serverAddress);
        return {
          id: r.id,
          username: r.username,
          remoteAddress: r.clientAddress,
          remotePort: r.clientPort,
          localAddress: local.host,
          localPort: local.port,
          tls: r.tls,
          clientSoftware: r.clientSoftware,
          startedAt: r.startedAt,
          lastCommandAt: r.startedAt,
          state: r.username === null ? ('awaiting-login' as const) : ('idle' as const),
          bytesIn: r.bytesIn,
          bytesOut: r.bytesOut,
          filesIn: r.filesIn,
          filesOut: r.filesOut,
          transfer: null,
          node: r.node as string,
          remote: true,
        };
      });
  }

  app.delete(
    '/sessions/:id',
    {
      config: { role: 'operator' },
      schema: {
        operationId: 'disconnectSession',
        tags: ['sessions'],
        summary: 'Disconnect a live session (421)',
        description:
          'A session on this node is closed before the answer (204). One on another node is handed to that node (202): it closes it within moments.',
        params: SessionParams,
        response: { 204: Type.Null(), 202: Type.Null() },
      },
    },
    async (req, reply) => {
      const { id } = req.params;
      const live = services.ftp.session(id);
      if (live && services.ftp.disconnect(id)) {
        await audit(services.stores.audit, req, {
          action: 'session.disconnect',
          target: id,
          detail: { username: live.username, remoteAddress: live.remoteAddress },
        });
        return reply.code(204).send(null);
      }
      const recorded = await sessions.get(id);
      const node = recorded?.endedAt === null ? recorded.node : null;
      const up =
        node !== null &&
        node !== services.cluster.node &&
        (await services.cluster.nodes()).some((n) => n.name === node && n.state === 'up');
      if (!recorded || !node || !up) throw Errors.SessionNotFound(id);
      services.cluster.publish({ kind: 'disconnect', node, sessionId: id });
      await audit(services.stores.audit, req, {
        action: 'session.disconnect',
        target: id,
        detail: { username: recorded.username, remoteAddress: recorded.clientAddress, node },
      });
      return reply.code(202).send(null);
    },
  );

  app.get(
    '/sessions/history',
    {
      config: { role: 'viewer' },
      schema: {
        operationId: 'listSessionHistory',
        tags: ['sessions'],
        summary: 'Recorded sessions, newest first',
        querystring: SessionHistoryQuery,
        response: { 200: Page(HistoryItem) },
      },
    },
    async (req) => {
      const { cursor, limit, ...filters } = req.query;
      return sessions.history({ ...historyFilters(filters), limit: limit ?? 50, cursor });
    },
  );

  app.get(
    '/sessions/history.csv',
    {
      config: { role: 'viewer' },
      schema: {
        operationId: 'exportSessionHistory',
        tags: ['sessions'],
        summary: `The filtered history as CSV (newest first, at most ${CSV_MAX_ROWS.toLocaleString('en-US')} rows)`,
        querystring: HistoryFilters,
        response: { 200: textResponse('text/csv', 'The sessions as CSV, one row each, with a header row') },
      },
    },
    async (req, reply) => {
      const filters = historyFilters(req.query);
      const timeZone = serverTimeZone();
      const date = new Date().toISOString().slice(0, 10);
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="ferry-history-${date}.csv"`)
        .send(Readable.from(historyCsv(sessions.historyAll(filters, CSV_MAX_ROWS), timeZone)));
    },
  );

  app.get(
    '/sessions/:id',
    {
      config: { role: 'viewer' },
      schema: {
        operationId: 'getSession',
        summary: 'A recorded session',
        tags: ['sessions'],
        params: SessionParams,
        response: { 200: SessionRecord },
      },
    },
    async (req) => recorded(req.params.id),
  );

  app.get(
    '/sessions/:id/transcript',
    {
      config: { role: 'viewer' },
      schema: {
        operationId: 'getTranscript',
        tags: ['sessions'],
        summary: 'A page of transcript lines; ?format=json exports the whole session (SessionExport), ?format=text the same as plain text',
        description: 'Viewers may download (?format) only while the setting viewersDownloadTranscripts is on.',
        params: SessionParams,
        querystring: TranscriptQuery,
        response: {
          200: {
            description:
              'A page of lines; with ?format=json the whole session as one SessionExport; with ?format=text the same as plain text',
            content: {
              'application/json': { schema: Type.Union([TranscriptLinePage, SessionExport]) },
              'text/plain': { schema: Type.String() },
            },
          },
        },
      },
    },
    async (req, reply) => {
      const { id } = req.params;
      const download = req.query.format !== undefined;
      if (download && req.admin!.role === 'viewer' && !services.settings.values.viewersDownloadTranscripts)
        throw Errors.RoleTooLow('operator', 'viewer');
      const session = await recorded(id);
      const timeZone = serverTimeZone();
      if (download) {
        const exportedAt = Date.now();
        const list = await findings.list(id);
        const extension = req.query.format === 'text' ? 'txt' : 'json';
        reply.header('content-disposition', `attachment; filename="${exportFileName(session, timeZone, extension)}"`);
        // Both bypass the JSON serializer of the 200 schema (a page of lines).
        if (req.query.format === 'text') {
          const server = { name: 'Ferry', version: services.info.version, timeZone };
          const text = sessionText({ server, session, lines: await allLines(id), findings: list, exportedAt });
          return reply
            .type('text/plain; charset=utf-8')
            .serializer(String)
            .send(text as never);
        }
        const document: SessionExport = {
          exportedAt,
          server: { version: services.info.version, timeZone },
          session,
          transcript: (await allLines(id)).map(withSeverity),
          transfers: await transcripts.transfers(id),
          findings: list,
        };
        return reply
          .type('application/json; charset=utf-8')
          .serializer(JSON.stringify)
          .send(document as never);
      }
      const limit = req.query.limit ?? 10_000;
      const afterSeq = req.query.cursor === undefined ? undefined : Number(req.query.cursor);
      const lines = await transcripts.lines(id, { afterSeq, limit });
      const last = lines.at(-1);
      return { items: lines.map(withSeverity), nextCursor: lines.length === limit && last ? String(last.seq) : null };
    },
  );

  app.get(
    '/sessions/:id/transfers',
    {
      config: { role: 'viewer' },
      schema: {
        operationId: 'listTransfers',
        summary: 'The transfers of a recorded session',
        tags: ['sessions'],
        params: SessionParams,
        response: { 200: Page(Transfer) },
      },
    },
    async (req) => {
      await recorded(req.params.id);
      return { items: await transcripts.transfers(req.params.id), nextCursor: null };
    },
  );

  app.get(
    '/sessions/:id/diagnosis',
    {
      config: { role: 'viewer' },
      schema: {
        operationId: 'getDiagnosis',
        tags: ['sessions'],
        summary: "The transcript doctor's findings",
        params: SessionParams,
        response: { 200: Page(Finding) },
      },
    },
    async (req) => {
      await recorded(req.params.id);
      return { items: await findings.list(req.params.id), nextCursor: null };
    },
  );
};

/** The API's history filters as the store's: the address as a prefix or a network. Throws 400s naming the field. */
export function historyFilters(q: HistoryFilters): DbHistoryFilters {
  if (q.from !== undefined && q.to !== undefined && q.from > q.to) throw invalidField('from', 'from is after to');
  const { address, ...rest } = q;
  if (address === undefined || address === '') return rest;
  if (!address.includes('/')) return { ...rest, addressPrefix: normalizeAddressPrefix(address) };
  const cidr = parseCidr(address);
  if (cidr === null) throw invalidField('address', `"${address}" is not a network like 203.0.113.0/24 or 2001:db8::/32`);
  return { ...rest, addressIn: `${cidr.address}/${cidr.prefix}` };
}

/** Addresses are stored as the engine reports them: lower-case, IPv4 clients of a dual-stack listener without ::ffff:. */
const normalizeAddressPrefix = (prefix: string) =>
  prefix
    .trim()
    .toLowerCase()
    .replace(/^::ffff:(?=\d)/, '');

/** A stored line with the severity the dashboard colours it by. */
export function withSeverity(line: TranscriptLineRecord): TranscriptLine {
  const severity = transcriptSeverity(line);
  return severity === undefined ? line : { ...line, severity };
}
