// Rewrites the configuration table in README.md from apps/server's CONFIG_VARIABLES (run after `pnpm build`).
// `--check` only reports whether the README is up to date (exit 1 if not).
import { readFileSync, writeFileSync } from 'node:fs';
import { CONFIG_VARIABLES } from '../apps/server/dist/config.js';

const readmeUrl = new URL('../README.md', import.meta.url);
const readme = readFileSync(readmeUrl, 'utf8');
const start = readme.indexOf('<!-- config:start');
const end = readme.indexOf('<!-- config:end -->');
if (start < 0 || end < 0) throw new Error('README.md has no config:start/config:end markers');
const startLineEnd = readme.indexOf('\n', start) + 1;

const cell = (s) => s.replaceAll('|', '\\|');
const table = [
  '| variable | default | meaning |',
  '|---|---|---|',
  ...CONFIG_VARIABLES.map(
    (v) => `| \`${v.name}\` | ${v.default === '(unset)' ? '(unset)' : `\`${v.default}\``} | ${cell(v.description)} |`,
  ),
  '',
].join('\n');
const next = readme.slice(0, startLineEnd) + table + readme.slice(end);

if (process.argv.includes('--check')) {
  if (next !== readme) {
    console.error('README.md configuration table is out of date: run `node scripts/config-table.mjs`');
    process.exit(1);
  }
} else {
  writeFileSync(readmeUrl, next);
}
