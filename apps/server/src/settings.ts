/**
 * Runtime settings in the API's shape (contract SettingsValues), layered defaults ← database ← environment,
 * and their translation to the engine's FtpSettings.
 */
import type { AuditOf } from '@ferry/db';
import { settingsFields, type Settings, type SettingKey, type SettingsValues } from '@ferry/contract';
import { DEFAULT_FTP_SETTINGS, type FtpSettings } from '@ferry/ftp-core';
import { Value } from 'typebox/value';
import { checkPassiveRange } from './config.js';
import { invalidField, Errors } from './errors.js';
import { isAdvertisableAddress, parseCidr } from './net/address.js';

export const DEFAULT_RETENTION_DAYS = 30;

export const DEFAULT_SETTINGS: SettingsValues = fromFtpSettings(DEFAULT_FTP_SETTINGS, DEFAULT_RETENTION_DAYS);

export function fromFtpSettings(s: FtpSettings, transcriptRetentionDays: number): SettingsValues {
  return {
    banner: s.banner,
    passivePorts: `${s.passivePorts.min}-${s.passivePorts.max}`,
    passiveAddress: s.passiveAddress,
    passiveAddressOverrides: s.passiveAddressOverrides.map((o) => ({ ...o })),
    passiveLocalForPrivateClients: s.passiveLocalForPrivateClients,
    allowForeignDataPeer: s.allowForeignDataPeer,
    allowForeignActiveTarget: s.allowForeignActiveTarget,
    idleTimeoutSeconds: Math.round(s.idleTimeoutMs / 1000),
    loginTimeoutSeconds: Math.round(s.loginTimeoutMs / 1000),
    dataConnectTimeoutSeconds: Math.round(s.dataConnectTimeoutMs / 1000),
    maxSessions: s.maxSessions,
    maxSessionsPerAddress: s.maxSessionsPerAddress,
    maxCommandsPerSecond: s.maxCommandsPerSecond,
    tlsControl: s.tlsControl,
    tlsData: s.tlsData,
    requireTlsSessionResumption: s.requireTlsSessionResumption,
    transcriptRetentionDays,
    displayTimeZone: 'server',
    requireTwoFactor: false,
    viewersDownloadTranscripts: true,
  };
}

export function toFtpSettings(v: SettingsValues): FtpSettings {
  const [min = 0, max = 0] = v.passivePorts.split('-').map(Number);
  return {
    banner: v.banner,
    passivePorts: { min, max },
    passiveAddress: v.passiveAddress,
    passiveAddressOverrides: v.passiveAddressOverrides.map((o) => ({ ...o })),
    passiveLocalForPrivateClients: v.passiveLocalForPrivateClients,
    allowForeignDataPeer: v.allowForeignDataPeer,
    allowForeignActiveTarget: v.allowForeignActiveTarget,
    idleTimeoutMs: v.idleTimeoutSeconds * 1000,
    loginTimeoutMs: v.loginTimeoutSeconds * 1000,
    dataConnectTimeoutMs: v.dataConnectTimeoutSeconds * 1000,
    maxSessions: v.maxSessions,
    maxSessionsPerAddress: v.maxSessionsPerAddress,
    maxCommandsPerSecond: v.maxCommandsPerSecond,
    tlsControl: v.tlsControl,
    tlsData: v.tlsData,
    requireTlsSessionResumption: v.requireTlsSessionResumption,
  };
}

/** Keeps only known keys whose stored value still matches the schema (a stale row never breaks start-up). */
export function sanitizeStored(stored: Record<string, unknown>, onInvalid?: (key: string) => void): Partial<SettingsValues> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(stored)) {
    const schema = settingsFields[key as SettingKey];
    if (!schema) continue;
    if (Value.Check(schema, value)) out[key] = value;
    else onInvalid?.(key);
  }
  return out as Partial<SettingsValues>;
}

/** Checks what the schema cannot: port ranges, addresses, CIDRs. Throws a 400 naming the field. */
export function assertSettingsPatch(patch: Partial<SettingsValues>): void {
  if (patch.passivePorts !== undefined) {
    const problem = checkPassiveRange(patch.passivePorts);
    if (problem) throw invalidField('passivePorts', problem);
  }
  if (patch.passiveAddress != null && !isAdvertisableAddress(patch.passiveAddress)) {
    throw invalidField('passiveAddress', `"${patch.passiveAddress}" is neither an IPv4 address nor a host name`);
  }
  patch.passiveAddressOverrides?.forEach((o, i) => {
    if (parseCidr(o.cidr) === null) throw invalidField(`passiveAddressOverrides/${i}/cidr`, `"${o.cidr}" is not a network like 10.0.0.0/8`);
    if (!isAdvertisableAddress(o.address))
      throw invalidField(`passiveAddressOverrides/${i}/address`, `"${o.address}" is neither an IPv4 address nor a host name`);
  });
}

export interface SettingsStorePort {
  get(): Promise<Record<string, unknown>>;
  set(patch: Record<string, unknown>, audit?: AuditOf): Promise<void>;
}

type Fixed = { values: Partial<Record<SettingKey, unknown>>; fixedBy: Partial<Record<SettingKey, string>> };

/** The live settings: what GET /settings shows and what the engine runs with. */
export class RuntimeSettings {
  #values: SettingsValues;

  private constructor(
    private readonly store: SettingsStorePort,
    private readonly fixed: Fixed,
    stored: Record<string, unknown>,
    onInvalid?: (key: string) => void,
  ) {
    this.#values = { ...DEFAULT_SETTINGS, ...sanitizeStored(stored, onInvalid), ...(fixed.values as Partial<SettingsValues>) };
  }

  /** The settings as stored, over the defaults, under the values the environment fixes. */
  static async load(store: SettingsStorePort, fixed: Fixed, onInvalid?: (key: string) => void): Promise<RuntimeSettings> {
    return new RuntimeSettings(store, fixed, await store.get(), onInvalid);
  }

  get values(): SettingsValues {
    return this.#values;
  }

  view(): Settings {
    return { values: this.#values, fixedBy: { ...this.fixed.fixedBy } as Record<string, string> };
  }

  ftpSettings(): FtpSettings {
    return toFtpSettings(this.#values);
  }

  /**
   * Validates, persists and returns the new values; throws 409 for keys fixed by the environment. `audit`
   * is written in the same transaction; the values change only once both are written.
   */
  async update(patch: Partial<SettingsValues>, audit?: AuditOf): Promise<SettingsValues> {
    for (const key of Object.keys(patch) as SettingKey[]) {
      const variable = this.fixed.fixedBy[key];
      if (variable) throw Errors.SettingFixed(key, variable);
    }
    assertSettingsPatch(patch);
    await this.store.set(patch, audit);
    this.#values = { ...this.#values, ...patch };
    this.onUpdated?.();
    return this.#values;
  }

  /** Called after each update (services tell the other nodes). */
  onUpdated: (() => void) | null = null;

  /** Reads the stored settings again (another node changed them). */
  async reload(onInvalid?: (key: string) => void): Promise<SettingsValues> {
    const stored = await this.store.get();
    this.#values = { ...DEFAULT_SETTINGS, ...sanitizeStored(stored, onInvalid), ...(this.fixed.values as Partial<SettingsValues>) };
    return this.#values;
  }
}
