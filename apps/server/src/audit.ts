/** Every admin write leaves an audit entry: who, what, on what, when and from where. */
import type { AuditEvent, AuditStore } from '@ferry/db';
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

/** Appends an audit entry on its own. */
export async function audit(store: AuditStore, req: FastifyRequest, facts: AuditFacts): Promise<void> {
  await store.record(auditEntry(req, facts));
}

/** The entry for a change made through `req`: pass it to the store, which writes it in the change's transaction. */
export function auditEntry(req: FastifyRequest, facts: AuditFacts): AuditEvent {
  const { detail } = facts;
  return {
    at: Date.now(),
    actor: facts.actor ?? actorOf(req),
    action: facts.action,
    target: facts.target,
    address: req.ip,
    detail: detail === undefined ? null : typeof detail === 'string' ? detail : JSON.stringify(detail),
  };
}
