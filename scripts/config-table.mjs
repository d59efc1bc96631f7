// Rewrites the generated tables in README.md: the configuration variables (apps/server's CONFIG_VARIABLES) and the
// runtime settings (the contract's SETTING_NAMES and SETTING_VARIABLES) and the admin roles (ROLE_DESCRIPTIONS). Run after `pnpm build`.
// `--check` only reports whether the README is up to date (exit 1 if not).
import { readFileSync, writeFileSync } from 'node:fs';
import { CONFIG_VARIABLES } from '../apps/server/dist/config.js';
import { ADMIN_ROLES, ROLE_DESCRIPTIONS, SETTING_NAMES, SETTING_VARIABLES } from '../packages/contract/dist/index.js';

const readmeUrl = new URL('../README.md', import.meta.url);
const readme = readFileSync(readmeUrl, 'utf8');
const cell = (s) => s.replaceAll('|', '\\|');

/** Replaces what lies between `<!-- name:start … -->` and `<!-- name:end -->` with `lines`. */
function fill(text, name, lines) {
  const start = text.indexOf(`<!-- ${name}:start`);
  const end = text.indexOf(`<!-- ${name}:end -->`);
  if (start < 0 || end < 0) throw new Error(`README.md has no ${name}:start/${name}:end markers`);
  const startLineEnd = text.indexOf('\n', start) + 1;
  return text.slice(0, startLineEnd) + [...lines, ''].join('\n') + text.slice(end);
}

let next = fill(readme, 'config', [
  '| variable | default | meaning |',
  '|---|---|---|',
  ...CONFIG_VARIABLES.map(
    (v) => `| \`${v.name}\` | ${v.default === '(unset)' ? '(unset)' : `\`${v.default}\``} | ${cell(v.description)} |`,
  ),
]);
next = fill(next, 'settings', [
  '| setting (Settings page) | API field | fixed by |',
  '|---|---|---|',
  ...Object.entries(SETTING_NAMES).map(([key, name]) => {
    const variable = SETTING_VARIABLES[key];
    return `| ${cell(name)} | \`${key}\` | ${variable ? `\`${variable}\`` : '–'} |`;
  }),
]);
next = fill(next, 'roles', [
  '| role | may |',
  '|---|---|',
  ...ADMIN_ROLES.map((role) => `| \`${role}\` | ${cell(ROLE_DESCRIPTIONS[role])} |`),
]);

if (process.argv.includes('--check')) {
  if (next !== readme) {
    console.error('README.md generated tables are out of date: run `node scripts/config-table.mjs`');
    process.exit(1);
  }
} else {
  writeFileSync(readmeUrl, next);
}
