/**
 * One log line per HTTP request, written when the answer has gone (instead of Fastify's two): method, URL
 * without secrets, status, time taken, client address and the signed-in admin. API requests are logged at
 * info, the dashboard's files at debug; /healthz and /metrics not at all unless FERRY_LOG_HEALTH_REQUESTS is
 * set (a health check and a scraper alone would write thousands of lines a day). A WebSocket stream is
 * logged when it is opened, since its request never completes as such.
 */
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import { API_PREFIX } from '@ferry/contract';
import { redactUrl } from '../log.js';

export const HEALTH_PATHS: readonly string[] = ['/healthz', '/metrics'];

const pathOf = (url: string) => url.split('?', 1)[0] ?? '';

export class RequestLog extends LogController {
  constructor(private readonly healthRequests: boolean) {
    super({ disableRequestLogging: (req: { url?: string }) => !healthRequests && HEALTH_PATHS.includes(pathOf(req.url ?? '')) });
  }

  override incomingRequest(request: FastifyRequest): void {
    if (this.isLogDisabled(request) || request.headers.upgrade?.toLowerCase() !== 'websocket') return;
    const url = redactUrl(request.url);
    request.log.info({ event: 'http.websocket', url, remoteAddress: request.ip }, `WebSocket ${url} opened`);
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    const url = redactUrl(request.url);
    const fields = {
      event: 'http.request',
      method: request.method,
      url,
      statusCode: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime * 10) / 10,
      remoteAddress: request.ip,
      ...(request.admin ? { admin: request.admin.username } : {}),
      ...(error ? { err: error } : {}),
    };
    const message = `${request.method} ${url} ${reply.statusCode}`;
    const path = pathOf(request.url);
    if (error) reply.log.error(fields, message);
    else if (path.startsWith(`${API_PREFIX}/`) || (this.healthRequests && HEALTH_PATHS.includes(path))) reply.log.info(fields, message);
    else reply.log.debug(fields, message);
  }
}
