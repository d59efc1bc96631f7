/** Runtime settings (applied live to new sessions and new PASV replies) and the 227 preview. */
import { PassivePreview, PassivePreviewQuery, SECURITY_SETTINGS, Settings, UpdateSettingsBody } from '@ferry/contract';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { isIP } from 'node:net';
import { Type } from 'typebox';
import { auditEntry } from '../audit.js';
import { Errors, invalidField } from '../errors.js';
import { normalizeAddress } from '../net/address.js';
import type { Services } from '../services.js';

export interface SettingsRouteOptions {
  services: Pick<Services, 'stores' | 'ftp' | 'settings'>;
}

const PreviewQuery = Type.Object({
  ...PassivePreviewQuery.properties,
  localAddress: Type.Optional(
    Type.String({
      minLength: 2,
      maxLength: 64,
      description: 'Server address the client connects to; default: the one this request reached',
    }),
  ),
});

export const settingsRoutes: FastifyPluginAsyncTypebox<SettingsRouteOptions> = async (app, { services }) => {
  const { settings, ftp } = services;

  app.get(
    '/settings',
    {
      config: { role: 'viewer' },
      schema: {
        operationId: 'getSettings',
        summary: 'The settings, and which are fixed by environment variables',
        tags: ['settings'],
        response: { 200: Settings },
      },
    },
    async () => settings.view(),
  );

  app.patch(
    '/settings',
    {
      config: {
        role: 'admin',
        errors: { 409: 'A setting is fixed by an environment variable (APP_SETTING_FIXED): `error.field` names it' },
      },
      schema: {
        operationId: 'updateSettings',
        tags: ['settings'],
        summary: 'Change settings; env-fixed keys answer 409; the security settings need the owner role',
        body: UpdateSettingsBody,
        response: { 200: Settings },
      },
    },
    async (req) => {
      for (const key of SECURITY_SETTINGS) {
        if (req.body[key] !== undefined && req.admin!.role !== 'owner') throw Errors.RoleTooLow('owner', req.admin!.role);
      }
      // Requiring two-factor sign-in of everyone starts with oneself: otherwise the owner's own session would be
      // shut out of everything but the enrolment.
      if (req.body.requireTwoFactor === true && !settings.values.requireTwoFactor && !req.admin!.totpEnabled) {
        throw invalidField('requireTwoFactor', 'Set up two-factor sign-in for your own account first (Account page)');
      }
      const before = settings.values;
      const after = { ...before, ...req.body };
      const changed = Object.fromEntries(
        Object.keys(req.body).map((k) => [k, { from: before[k as keyof typeof before], to: after[k as keyof typeof before] }]),
      );
      await settings.update(req.body, auditEntry(req, { action: 'settings.update', target: null, detail: changed }));
      ftp.updateSettings(settings.ftpSettings());
      return settings.view();
    },
  );

  app.get(
    '/settings/passive-preview',
    {
      config: { role: 'viewer' },
      schema: {
        operationId: 'previewPassiveReply',
        tags: ['settings'],
        summary: 'The exact 227 reply a client at clientAddress would get',
        querystring: PreviewQuery,
        response: { 200: PassivePreview },
      },
    },
    async (req) => {
      const clientAddress = normalizeAddress(req.query.clientAddress);
      if (isIP(clientAddress) === 0) throw invalidField('clientAddress', `"${req.query.clientAddress}" is not an IP address`);
      const localAddress = normalizeAddress(req.query.localAddress ?? req.socket.localAddress ?? '127.0.0.1');
      if (isIP(localAddress) === 0) throw invalidField('localAddress', `"${req.query.localAddress}" is not an IP address`);
      const preview = ftp.previewPassiveReply(clientAddress, localAddress);
      return { clientAddress, reply: preview.reply, advertisedAddress: preview.advertisedAddress };
    },
  );
};
