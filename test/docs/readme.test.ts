/** The README documents what the code does: its configuration table is generated from CONFIG_VARIABLES. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { REPO_ROOT } from '../support/start-system.js';

it('lists every configuration variable exactly as apps/server reads it', () => {
  expect(() => execFileSync('node', ['scripts/config-table.mjs', '--check'], { cwd: REPO_ROOT, stdio: 'pipe' })).not.toThrow();
});

it('keeps the two set-up commands: install+start and test', () => {
  const readme = readFileSync(`${REPO_ROOT}/README.md`, 'utf8');
  const pnpm = JSON.parse(readFileSync(`${REPO_ROOT}/package.json`, 'utf8')).packageManager.replace('pnpm@', '');
  expect(readme).toContain(`npm install -g pnpm@${pnpm} && pnpm install && pnpm start`);
  expect(readme).toContain(`npm install -g pnpm@${pnpm} && pnpm install && pnpm test`);
});
