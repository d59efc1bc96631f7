#!/usr/bin/env node
// Summarizes a V8 .cpuprofile (node --cpu-prof) as the functions with the most self time and the most
// inclusive time. Usage: node bench/profile-top.mjs <file.cpuprofile> [rows=25] [--from FUNCTION]
// --from leaves out every sample before the first one with FUNCTION on its stack (e.g. --from runTransfer:
// the workload without the server's start-up and set-up).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { from: { type: 'string' } } });
const [file, rowsArg] = positionals;
if (!file) {
  console.error('usage: node bench/profile-top.mjs <file.cpuprofile> [rows] [--from FUNCTION]');
  process.exit(2);
}
const rows = Number(rowsArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const onStack = (id, name) => {
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) if (byId.get(cur).callFrame.functionName === name) return true;
  return false;
};
const first = values.from === undefined ? 0 : profile.samples.findIndex((id) => onStack(id, values.from));
if (first === -1) {
  console.error(`no sample has ${values.from} on its stack`);
  process.exit(1);
}

// time per sample: the deltas between sample timestamps (microseconds)
const selfUs = new Map();
profile.samples.forEach((id, i) => {
  if (i >= first) selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
});
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

const label = (n) => {
  const f = n.callFrame;
  const where = f.url
    ? `${f.url
        .replace(/^file:\/\//, '')
        .replace(/.*\/node_modules\//, 'nm:')
        .replace(/.*\/work\/main\//, '')}:${f.lineNumber + 1}`
    : '';
  return `${f.functionName || '(anonymous)'} ${where}`.trim();
};

const self = new Map();
const inclusive = new Map();
for (const [id, us] of selfUs) {
  const n = byId.get(id);
  self.set(label(n), (self.get(label(n)) ?? 0) + us);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur));
    if (seen.has(l)) continue;
    seen.add(l);
    inclusive.set(l, (inclusive.get(l) ?? 0) + us);
  }
}
const pct = (us) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
const top = (m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, rows);
console.log(`total sampled: ${(total / 1e6).toFixed(2)} s`);
console.log('\nself time:');
for (const [l, us] of top(self)) console.log(`${pct(us)}  ${l}`);
console.log('\ninclusive time:');
for (const [l, us] of top(inclusive)) console.log(`${pct(us)}  ${l}`);
