/**
 * The one error handler and the not-found handler. Every error leaves as
 * {"error": {"code", "message", "field"?}}; 5xx text is logged, never sent.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ErrorBody } from '@ferry/contract';
import { InvalidCursorError } from '@ferry/db';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from './errors.js';

interface ValidationIssue {
  instancePath?: string;
  params?: Record<string, unknown>;
  message?: string;
}

/** The field an AJV error is about: `/permissions/0/path` → `permissions/0/path`; missing ones from params. */
export function fieldOf(issue: ValidationIssue | undefined): string | undefined {
  if (!issue) return undefined;
  const base = (issue.instancePath ?? '').replace(/^\//, '');
  const extra = issue.params?.missingProperty ?? issue.params?.additionalProperty;
  const name = typeof extra === 'string' ? (base ? `${base}/${extra}` : extra) : base;
  return name || undefined;
}

/** The one place an error body is written: its shape is the contract's ErrorBody, which the OpenAPI document publishes. */
function send(reply: FastifyReply, status: number, body: ErrorBody['error']) {
  return reply.code(status).type('application/json; charset=utf-8').send({ error: body });
}

export function errorHandler(onServerError: () => void) {
  return function handle(error: FastifyError, req: FastifyRequest, reply: FastifyReply) {
    if (error instanceof AppError) {
      return send(reply, error.statusCode, {
        code: error.code,
        message: error.message,
        ...(error.field ? { field: error.field } : {}),
        ...(error.remainingAttempts === undefined ? {} : { remainingAttempts: error.remainingAttempts }),
        ...(error.lockedUntil === undefined ? {} : { lockedUntil: error.lockedUntil }),
      });
    }
    if (error.validation) {
      const issue = error.validation[0] as ValidationIssue | undefined;
      const field = fieldOf(issue);
      const where = error.validationContext ?? 'request';
      const unknown = typeof issue?.params?.additionalProperty === 'string';
      const message = `${field ?? where} ${unknown ? 'is not a known field' : (issue?.message ?? 'is invalid')}`.trim();
      return send(reply, 400, { code: 'APP_VALIDATION', message, ...(field ? { field } : {}) });
    }
    if (error instanceof InvalidCursorError)
      return send(reply, 400, { code: 'APP_VALIDATION', message: 'cursor is not valid', field: 'cursor' });
    const status = error.statusCode ?? 500;
    if (status < 500) {
      const code = error.code?.startsWith('APP_')
        ? error.code
        : status === 415
          ? 'APP_UNSUPPORTED_MEDIA_TYPE'
          : status === 413
            ? 'APP_TOO_LARGE'
            : 'APP_BAD_REQUEST';
      return send(reply, status, { code, message: error.message });
    }
    req.log.error({ err: error }, 'Request failed');
    onServerError();
    return send(reply, 500, { code: 'APP_INTERNAL', message: 'Internal server error' });
  };
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Ferry</title>
<h1>Ferry's admin site is not built</h1>
<p>The API is running at <a href="/api/docs">/api/docs</a>. Build the dashboard with <code>pnpm build</code> (it writes apps/web/dist), then restart.</p>`;

/**
 * Unknown API routes: 404 JSON. Other GETs: the dashboard's index.html (deep links), or a clear page when it is not built.
 * app.ts rate-limits this handler per client address, so a scanner guessing paths is slowed to 429s.
 */
export function notFoundHandler(webRoot: string | null) {
  return function handle(req: FastifyRequest, reply: FastifyReply) {
    const url = req.url.split('?')[0] ?? '';
    const isApi = url.startsWith('/api/') || url === '/api' || url === '/metrics' || url === '/healthz';
    if ((req.method === 'GET' || req.method === 'HEAD') && !isApi && !path.extname(url)) {
      if (webRoot && existsSync(path.join(webRoot, 'index.html'))) return reply.sendFile('index.html', webRoot);
      return reply.code(503).type('text/html; charset=utf-8').send(NOT_BUILT);
    }
    return send(reply, 404, { code: 'APP_NOT_FOUND', message: `No route ${req.method} ${url}` });
  };
}
