/** Live sessions (from the engine) and recorded history, transcripts, transfers and findings (from SQLite). */
import {
  Finding,
  HistoryItem,
  LiveSession,
  Page,
  SessionHistoryQuery,
  SessionRecord,
  Transfer,
  TranscriptLine,
  type HistoryFilters,
} from '@ferry/contract';
import type { HistoryFilters as DbHistoryFilters } from '@ferry/db';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { audit } from '../audit.js';
import { Errors, invalidField } from '../errors.js';
import { createCidrMatcher, parseCidr } from '../net/address.js';
import type { Services } from '../services.js';

export interface SessionsRouteOptions {
  services: Pick<Services, 'stores' | 'ftp' | 'hub'>;
}

const SessionParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
const TranscriptQuery = Type.Object({
  format: Type.Optional(Type.Enum(['json', 'text'] as const, { default: 'json' })),
  /** Lines after this sequence number (the previous page's nextCursor). */
  cursor: Type.Optional(Type.String({ pattern: '^\\d{1,10}$' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, default: 10_000 })),
});

export const sessionsRoutes: FastifyPluginAsyncTypebox<SessionsRouteOptions> = async (app, { services }) => {
  const { sessions, transcripts, findings } = services.stores;
  const recorded = (id: string) => {
    const session = sessions.get(id);
    if (!session) throw Errors.SessionNotFound(id);
    return session;
  };

  app.get(
    '/sessions',
    { schema: { tags: ['sessions'], summary: 'Sessions connected now', response: { 200: Page(LiveSession) } } },
    async () => ({
      items: services.hub.liveSessions(),
      nextCursor: null,
    }),
  );

  app.delete(
    '/sessions/:id',
    { schema: { tags: ['sessions'], summary: 'Disconnect a live session (421)', params: SessionParams, response: { 204: Type.Null() } } },
    async (req, reply) => {
      const { id } = req.params;
      const live = services.ftp.session(id);
      if (!live || !services.ftp.disconnect(id)) throw Errors.SessionNotFound(id);
      audit(services.stores.audit, req, {
        action: 'session.disconnect',
        target: id,
        detail: { username: live.username, remoteAddress: live.remoteAddress },
      });
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/sessions/history',
    {
      schema: {
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

  app.get('/sessions/:id', { schema: { tags: ['sessions'], params: SessionParams, response: { 200: SessionRecord } } }, async (req) =>
    recorded(req.params.id),
  );

  app.get(
    '/sessions/:id/transcript',
    {
      schema: {
        tags: ['sessions'],
        summary: 'The transcript as JSON lines, or ?format=text as an FTP client log shows it',
        params: SessionParams,
        querystring: TranscriptQuery,
        response: { 200: Page(TranscriptLine) },
      },
    },
    async (req, reply) => {
      const { id } = req.params;
      recorded(id);
      const limit = req.query.limit ?? 10_000;
      const afterSeq = req.query.cursor === undefined ? undefined : Number(req.query.cursor);
      const lines = transcripts.lines(id, { afterSeq, limit });
      if (req.query.format === 'text') {
        // Plain text bypasses the JSON serializer of the 200 schema.
        return reply
          .type('text/plain; charset=utf-8')
          .serializer(String)
          .send(transcriptText(lines) as never);
      }
      const last = lines.at(-1);
      return { items: lines, nextCursor: lines.length === limit && last ? String(last.seq) : null };
    },
  );

  app.get(
    '/sessions/:id/transfers',
    { schema: { tags: ['sessions'], params: SessionParams, response: { 200: Page(Transfer) } } },
    async (req) => {
      recorded(req.params.id);
      return { items: transcripts.transfers(req.params.id), nextCursor: null };
    },
  );

  app.get(
    '/sessions/:id/diagnosis',
    {
      schema: { tags: ['sessions'], summary: "The transcript doctor's findings", params: SessionParams, response: { 200: Page(Finding) } },
    },
    async (req) => {
      recorded(req.params.id);
      return { items: findings.list(req.params.id), nextCursor: null };
    },
  );
};

/** The API's history filters as the store's: the address as a prefix or a CIDR block's matcher. Throws 400s naming the field. */
export function historyFilters(q: HistoryFilters): DbHistoryFilters {
  if (q.from !== undefined && q.to !== undefined && q.from > q.to) throw invalidField('from', 'from is after to');
  const { address, ...rest } = q;
  if (address === undefined || address === '') return rest;
  if (!address.includes('/')) return { ...rest, addressPrefix: normalizeAddressPrefix(address) };
  if (parseCidr(address) === null) throw invalidField('address', `"${address}" is not a network like 203.0.113.0/24 or 2001:db8::/32`);
  return { ...rest, addressIn: createCidrMatcher([address]) };
}

/** Addresses are stored as the engine reports them: lower-case, IPv4 clients of a dual-stack listener without ::ffff:. */
const normalizeAddressPrefix = (prefix: string) =>
  prefix
    .trim()
    .toLowerCase()
    .replace(/^::ffff:(?=\d)/, '');

/**
 * Plain text like an FTP client's log: commands and replies verbatim (`USER alice`, `331 ...`,
 * `PASS ****`), each line prefixed with its time; events as `*** ...`.
 */
export function transcriptText(lines: readonly { at: number; kind: string; text: string }[]): string {
  const out: string[] = [];
  for (const line of lines) {
    const time = new Date(line.at).toISOString().slice(11, 23);
    const prefix = line.kind === 'event' ? '*** ' : '';
    for (const part of line.text.split(/\r?\n/)) out.push(`${time} ${prefix}${part}`);
  }
  return out.length > 0 ? `${out.join('\n')}\n` : '';
}
