import type { SettingsValues } from '@ferry/contract';
import { describe, expect, it } from 'vitest';
import { newOverride, settingsFieldKeys, settingsPatch, settingsToForm } from '../src/lib/settings-form.js';

const values: SettingsValues = {
  banner: 'Welcome to Ferry',
  passivePorts: '50000-50100',
  passiveAddress: null,
  passiveAddressOverrides: [],
  passiveLocalForPrivateClients: true,
  allowForeignDataPeer: false,
  allowForeignActiveTarget: false,
  idleTimeoutSeconds: 900,
  loginTimeoutSeconds: 30,
  dataConnectTimeoutSeconds: 10,
  maxSessions: 500,
  maxSessionsPerAddress: 20,
  maxCommandsPerSecond: 50,
  tlsControl: 'allowed',
  tlsData: 'allowed',
  requireTlsSessionResumption: true,
  transcriptRetentionDays: 30,
  displayTimeZone: 'server',
  requireTwoFactor: false,
  viewersDownloadTranscripts: true,
};

describe('settings form', () => {
  it('sends nothing when nothing changed', () => {
    expect(settingsPatch(settingsToForm(values), values, {})).toEqual({ ok: true, body: {} });
  });

  it("sends the dashboard's clock choice when it changed", () => {
    const model = { ...settingsToForm(values), displayTimeZone: 'browser' as const };
    expect(settingsPatch(model, values, {})).toEqual({ ok: true, body: { displayTimeZone: 'browser' } });
  });

  it('sends only changed settings, typed, and never env-fixed ones', () => {
    const model = settingsToForm(values);
    model.idleTimeoutSeconds = '600';
    model.passiveAddress = ' ftp.example.com ';
    model.passivePorts = '40000-40010';
    model.passiveAddressOverrides.push(newOverride('10.0.0.0/8', '10.0.0.5'));
    const result = settingsPatch(model, values, { passivePorts: 'FERRY_PASV_PORTS' });
    expect(result).toEqual({
      ok: true,
      body: {
        idleTimeoutSeconds: 600,
        passiveAddress: 'ftp.example.com',
        passiveAddressOverrides: [{ cidr: '10.0.0.0/8', address: '10.0.0.5' }],
      },
    });
  });

  it('sends the security settings only when an owner changed them', () => {
    const model = { ...settingsToForm(values), requireTwoFactor: true, banner: 'Hello' };
    expect(settingsPatch(model, values, {})).toEqual({ ok: true, body: { requireTwoFactor: true, banner: 'Hello' } });
    // Below the owner role the security inputs are read-only: the rest saves without them.
    const admin = { ...settingsToForm(values), banner: 'Hello' };
    expect(settingsPatch(admin, values, {})).toEqual({ ok: true, body: { banner: 'Hello' } });
  });

  it('reports unusable values under their setting keys', () => {
    const model = settingsToForm(values);
    model.maxSessions = 'many';
    model.passivePorts = '50100-50000';
    model.passiveAddressOverrides.push(newOverride('', '1.2.3.4'));
    const result = settingsPatch(model, values, {});
    expect(result.ok ? {} : Object.keys(result.errors).sort()).toEqual(['maxSessions', 'passiveAddressOverrides.0.cidr', 'passivePorts']);
    expect(settingsFieldKeys(model)).toEqual(
      expect.arrayContaining(['banner', 'passiveAddressOverrides', 'passiveAddressOverrides.0.address']),
    );
  });
});
