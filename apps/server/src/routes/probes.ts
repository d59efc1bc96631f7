/**
 * Probe links ("Test from the customer's network"): create one (its password and the commands to send, shown
 * once), list them (expired ones too, for a week), read one with its sessions and a verdict per way of connecting,
 * delete one.
 */
import { CreatedProbe, CreateProbeBody, Page, Probe, PROBE_LIMITS, ProbeDetail, type ProbeState } from '@ferry/contract';
import type { ProbeRecord } from '@ferry/db';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { PROBE_REPLIES } from '../adapters/probe-authenticator.js';
import { auditEntry } from '../audit.js';
import { Errors } from '../errors.js';
import { probeCommands } from '../probes/commands.js';
import { probeVerdicts } from '../probes/verdicts.js';
import type { Services } from '../services.js';
import { requestHost } from './connectivity.js';

export interface ProbesRouteOptions {
  services: Pick<Services, 'stores' | 'settings' | 'info' | 'ftp' | 'now' | 'disconnectUser'>;
}

const ProbeParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
const MINUTE = 60_000;
/** Sessions read for a verdict: a link allows at most PROBE_LIMITS.maxSessions.max logins. */
const SESSIONS_READ = 100;
/** Transcript lines read per session: a probe session's commands produce a few dozen. */
const LINES_PER_SESSION = 2_000;

/** Whether the link still lets the customer log in at `now`; the same order as the login's checks. */
function probeState(probe: ProbeRecord, now: number): ProbeState {
  if (probe.expiresAt <= now) return 'expired';
  return probe.sessionsUsed >= probe.maxSessions ? 'used-up' : 'active';
}

export const probesRoutes: FastifyPluginAsyncTypebox<ProbesRouteOptions> = async (app, { services }) => {
  const { probes, sessions, transcripts, findings } = services.stores;
  const found = async (id: string) => {
    const probe = await probes.get(id);
    if (!probe) throw Errors.ProbeNotFound(id);
    return probe;
  };
  const withState = (probe: ProbeRecord) => ({ ...probe, state: probeState(probe, services.now()) });

  app.post(
    '/probes',
    {
      config: { role: 'admin' },
      schema: {
        operationId: 'createProbe',
        tags: ['probes'],
        summary: 'Create a probe link: one-time, read-only FTP credentials and the commands to send the customer (shown once)',
        body: CreateProbeBody,
        response: { 201: CreatedProbe },
      },
    },
    async (req, reply) => {
      const { ttlMinutes = PROBE_LIMITS.ttlMinutes.default, maxSessions = PROBE_LIMITS.maxSessions.default } = req.body;
      const note = req.body.note?.trim() || null;
      const createdAt = services.now();
      const { probe, password } = await probes.create(
        { createdAt, expiresAt: createdAt + ttlMinutes * MINUTE, maxSessions, createdBy: req.admin!.username, note },
        (created) =>
          auditEntry(req, {
            action: 'probe.create',
            target: created.username,
            detail: { ttlMinutes, maxSessions, note },
          }),
      );
      const host = services.settings.values.passiveAddress ?? requestHost(req) ?? '127.0.0.1';
      const commands = probeCommands({ host, port: services.info.ftpPort, username: probe.username, password });
      return reply.code(201).send({ probe: withState(probe), password, commands });
    },
  );

  app.get(
    '/probes',
    {
      config: { role: 'viewer' },
      schema: {
        operationId: 'listProbes',
        tags: ['probes'],
        summary: 'Probe links, newest first: live ones, and expired ones for 7 days after their expiry',
        response: { 200: Page(Probe) },
      },
    },
    async () => ({ items: (await probes.list()).map(withState), nextCursor: null }),
  );

  app.get(
    '/probes/:id',
    {
      config: { role: 'viewer' },
      schema: {
        operationId: 'getProbe',
        tags: ['probes'],
        summary: 'A probe link, its sessions and a verdict per way of connecting (plain/FTPS × passive/active)',
        params: ProbeParams,
        response: { 200: ProbeDetail },
      },
    },
    async (req) => {
      const probe = await found(req.params.id);
      const recorded = (await sessions.history({ username: probe.username, limit: SESSIONS_READ })).items;
      const evidence = await Promise.all(
        recorded
          .filter((s) => s.outcome !== 'login-failed')
          .reverse()
          .map(async (s) => ({
            id: s.id,
            lines: await transcripts.lines(s.id, { limit: LINES_PER_SESSION }),
            findings: await findings.list(s.id),
          })),
      );
      return {
        probe: withState(probe),
        sessions: recorded.map((s) => ({
          id: s.id,
          startedAt: s.startedAt,
          endedAt: s.endedAt,
          remoteAddress: s.clientAddress,
          outcome: s.outcome,
        })),
        verdicts: probeVerdicts(evidence),
      };
    },
  );

  app.delete(
    '/probes/:id',
    {
      config: { role: 'admin' },
      schema: {
        operationId: 'deleteProbe',
        tags: ['probes'],
        summary: 'Delete a probe link: its logins stop working at once',
        params: ProbeParams,
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      const { id } = req.params;
      const removed = await probes.remove(id, (probe) => auditEntry(req, { action: 'probe.delete', target: probe.username }));
      if (!removed) throw Errors.ProbeNotFound(id);
      services.disconnectUser(removed.username, PROBE_REPLIES.deleted);
      return reply.code(204).send(null);
    },
  );
};
