/**
 * GET /connectivity: the "Get connected" self-test. From the server itself, connects to the advertised
 * address (or, when none is set, to the address the admin used to reach this site) on the control port,
 * the implicit FTPS port and a passive port, and lists the firewall rules to add. Its FTP connection says
 * CLNT SELF_TEST_CLIENT, so the session it leaves in History is recognisably the test's.
 */
import { ConnectivityReport, SELF_TEST_CLIENT } from '@ferry/contract';
import { checkConnectivity } from '@ferry/ftp-core/diagnosis';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { normalizeAddress } from '../net/address.js';
import type { Services } from '../services.js';

export interface ConnectivityRouteOptions {
  services: Pick<Services, 'info' | 'settings'>;
  /** Per check; default 3000 ms. */
  timeoutMs?: number;
}

/** The host this request was addressed to (`Host`, or X-Forwarded-Host behind a trusted proxy), else the local address. */
export function requestHost(req: FastifyRequest): string | null {
  const host = req.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host) return normalizeAddress(host);
  return req.socket.localAddress ? normalizeAddress(req.socket.localAddress) : null;
}

export const connectivityRoutes: FastifyPluginAsyncTypebox<ConnectivityRouteOptions> = async (app, { services, timeoutMs }) => {
  // One run at a time: concurrent requests for the same address share it.
  const running = new Map<string, Promise<ConnectivityReport>>();

  app.get(
    '/connectivity',
    {
      config: { role: 'operator' },
      schema: {
        operationId: 'checkConnectivity',
        tags: ['server'],
        summary: 'Self-test: reach the advertised address on the control, FTPS and a passive port; the firewall rules to add',
        response: { 200: ConnectivityReport },
      },
    },
    async (req) => {
      const configured = services.settings.values.passiveAddress;
      const address = configured ?? requestHost(req);
      const key = address ?? '';
      let run = running.get(key);
      if (!run) {
        const { passivePorts } = services.settings.ftpSettings();
        run = checkConnectivity({
          advertisedAddress: address,
          controlPort: services.info.ftpPort,
          passivePorts,
          ftpsPort: services.info.ftpsPort,
          timeoutMs,
          clientName: SELF_TEST_CLIENT, // the test's FTP session is labelled as such in History
        }).then((report): ConnectivityReport => ({ ...report, addressSource: configured ? 'setting' : 'request' }));
        running.set(key, run);
        void run.finally(() => running.delete(key)).catch(() => undefined);
      }
      return run;
    },
  );
};
