/** Every admin write leaves an audit entry: who, what, on what, when and from where. */
import type { AuditStore } from '@ferry/db';
import type { FastifyRequest } from 'fastify';

export type { AuditStore };

export interface AuditFacts {
  /** e.g. user.create, settings.update (see contract AuditEntry). */
  action: string;
  target: string | null;
  detail?: unknown;
  /** Defaults to the authenticated admin. */
  actor?: string;
}

/** Who acts: the admin, and for an API token which one (several scripts may share an admin). */
function actorOf(req: FastifyRequest): string {
  const admin = req.admin;
  if (!admin) return 'anonymous';
  return admin.kind === 'api' ? `${admin.username} (API token "${admin.tokenName}")` : admin.username;
}

export function audit(store: AuditStore, req: FastifyRequest, facts: AuditFacts): void {
  const { detail } = facts;
  store.record({
    at: Date.now(),
    actor: facts.actor ?? actorOf(req),
    action: facts.action,
    target: facts.target,
    address: req.ip,
    detail: detail === undefined ? null : typeof detail === 'string' ? detail : JSON.stringify(detail),
  });
}
