import type { SettingKey, SettingsValues, UpdateSettingsBody } from '@ferry/contract';

/** Settings whose inputs are whole numbers. */
export const NUMBER_SETTINGS = [
  'idleTimeoutSeconds',
  'loginTimeoutSeconds',
  'dataConnectTimeoutSeconds',
  'maxSessions',
  'maxSessionsPerAddress',
  'maxCommandsPerSecond',
  'transcriptRetentionDays',
] as const satisfies readonly SettingKey[];
type NumberSetting = (typeof NUMBER_SETTINGS)[number];

export interface OverrideModel {
  key: number;
  cidr: string;
  address: string;
}

/** The settings form as its inputs hold it: numbers as text, overrides with stable keys. */
export type SettingsFormModel = Omit<SettingsValues, NumberSetting | 'passiveAddress' | 'passiveAddressOverrides'> &
  Record<NumberSetting, string> & { passiveAddress: string; passiveAddressOverrides: OverrideModel[] };

let nextKey = 1;
export const newOverride = (cidr = '', address = ''): OverrideModel => ({ key: nextKey++, cidr, address });

export function settingsToForm(values: SettingsValues): SettingsFormModel {
  const numbers = Object.fromEntries(NUMBER_SETTINGS.map((key) => [key, String(values[key])])) as Record<NumberSetting, string>;
  return {
    ...values,
    ...numbers,
    passiveAddress: values.passiveAddress ?? '',
    passiveAddressOverrides: values.passiveAddressOverrides.map((o) => newOverride(o.cidr, o.address)),
  };
}

export const settingsFieldKeys = (model: SettingsFormModel): string[] => [
  ...Object.keys(model).filter((key) => key !== 'passiveAddressOverrides'),
  'passiveAddressOverrides',
  ...model.passiveAddressOverrides.flatMap((_, i) => [`passiveAddressOverrides.${i}.cidr`, `passiveAddressOverrides.${i}.address`]),
];

export type SettingsResult = { ok: true; body: UpdateSettingsBody } | { ok: false; errors: Record<string, string> };

/**
 * The PATCH body: only settings that changed and are not fixed by an environment variable,
 * or field errors for values that cannot be sent. (Unchanged security settings are never sent, so an admin
 * below the owner role, whose security inputs are read-only, saves the rest without a 403.)
 */
export function settingsPatch(model: SettingsFormModel, current: SettingsValues, fixed: Record<string, string>): SettingsResult {
  const errors: Record<string, string> = {};
  const next: Record<string, unknown> = {};
  for (const key of NUMBER_SETTINGS) {
    const value = Number(model[key].trim());
    if (model[key].trim() === '' || !Number.isInteger(value)) errors[key] = 'Enter a whole number.';
    else next[key] = value;
  }
  const ports = /^(\d{1,5})-(\d{1,5})$/.exec(model.passivePorts.trim());
  if (!ports || Number(ports[1]) > Number(ports[2]) || Number(ports[2]) > 65535) {
    errors['passivePorts'] = 'Enter a range such as 50000-50100 (first port not above the last).';
  }
  next['passivePorts'] = model.passivePorts.trim();
  next['passiveAddress'] = model.passiveAddress.trim() === '' ? null : model.passiveAddress.trim();
  next['passiveAddressOverrides'] = model.passiveAddressOverrides.map((o, i) => {
    if (o.cidr.trim() === '') errors[`passiveAddressOverrides.${i}.cidr`] = 'Enter a network, e.g. 10.0.0.0/8.';
    if (o.address.trim() === '') errors[`passiveAddressOverrides.${i}.address`] = 'Enter the address to advertise.';
    return { cidr: o.cidr.trim(), address: o.address.trim() };
  });
  if (model.banner.trim() === '') errors['banner'] = 'The banner cannot be empty.';
  for (const key of [
    'banner',
    'passiveLocalForPrivateClients',
    'allowForeignDataPeer',
    'allowForeignActiveTarget',
    'tlsControl',
    'tlsData',
    'requireTlsSessionResumption',
    'displayTimeZone',
    'requireTwoFactor',
    'viewersDownloadTranscripts',
  ] as const) {
    next[key] = model[key];
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  const body: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(next)) {
    if (key in fixed) continue;
    if (JSON.stringify(value) !== JSON.stringify(current[key as SettingKey])) body[key] = value;
  }
  return { ok: true, body: body as UpdateSettingsBody };
}
