/** One name per setting: the contract's SETTING_NAMES is what the Settings page, the README and the doctor's advice say. */
import { readFileSync } from 'node:fs';
import { SETTING_NAMES, SETTING_VARIABLES, type SettingKey } from '@ferry/contract';
import { SETTING_NAMES as DOCTOR_NAMES } from '@ferry/ftp-core/diagnosis';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, loadConfig } from '../src/config.js';

const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

describe('setting names', () => {
  it('the doctor names every setting it cites as the contract does, with the variable that fixes it', () => {
    for (const [key, named] of Object.entries(DOCTOR_NAMES) as [SettingKey, { name: string; variable?: string }][]) {
      expect(named.name, key).toBe(SETTING_NAMES[key]);
      expect(named.variable, key).toBe(SETTING_VARIABLES[key]);
    }
  });

  it('every variable that fixes a setting is documented with that setting’s name and fixes exactly it', () => {
    for (const [key, variable] of Object.entries(SETTING_VARIABLES) as [SettingKey, string][]) {
      const documented = CONFIG_VARIABLES.find((v) => v.name === variable);
      expect(documented?.description, variable).toContain(`"${SETTING_NAMES[key]}"`);
      const value =
        { passivePorts: '50000-50009', passiveAddress: '203.0.113.10', passiveLocalForPrivateClients: 'false' }[key as string] ?? '7';
      expect(loadConfig({ [variable]: value }, '/srv').fixedSettings.fixedBy).toEqual({ [key]: variable });
    }
  });

  it("the README's settings table lists every setting by its name, API field and variable", () => {
    for (const [key, name] of Object.entries(SETTING_NAMES) as [SettingKey, string][]) {
      const variable = SETTING_VARIABLES[key];
      expect(README).toContain(`| ${name} | \`${key}\` | ${variable ? `\`${variable}\`` : '–'} |`);
    }
  });

  it('the README names settings only by their one name', () => {
    // Names the settings once had elsewhere: none may come back.
    for (const old of ['Local address for private clients', 'Settings → Network →', 'Settings → TLS → Require'])
      expect(README).not.toContain(old);
  });
});
