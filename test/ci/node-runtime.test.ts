/**
 * `pnpm start` and `pnpm test` run on a supported Node whatever the machine has: scripts/node.sh keeps a
 * Node 22+ from PATH, and under an older one (a real Node 20 from the npm registry here) it uses the
 * Docker image's major from node_modules/.cache/ferry-node, saying so in one line.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/start-system.js';

const script = join(REPO_ROOT, 'scripts/node.sh');
const imageMajor = /^ARG NODE_MAJOR=(\d+)/m.exec(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'))![1];

function runWith(pathDir: string, ...args: string[]) {
  const env = { ...process.env, PATH: `${pathDir}:/usr/bin:/bin`, FERRY_NODE_MAJOR: '' };
  return spawnSync('bash', [script, ...args], { cwd: REPO_ROOT, env, encoding: 'utf8', timeout: 180_000 });
}

let oldNodeBin: string;
beforeAll(() => {
  // A real Node 20 (end of life), fetched the same way the script fetches Node; npm comes from beside the
  // system's Node or the test runner's, whichever PATH has.
  const dir = execFileSync('bash', ['-c', `source "${script}" && ferry_fetch_node 20`], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  oldNodeBin = join(dir, 'bin');
  expect(execFileSync(join(oldNodeBin, 'node'), ['-p', 'process.versions.node'], { encoding: 'utf8' })).toMatch(/^20\./);
}, 180_000);

it('under Node 20 runs the command on the image major, announced in one line', () => {
  const npmDir = dirname(execFileSync('bash', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
  const run = runWith(`${oldNodeBin}:${npmDir}`, 'node', '-p', 'process.versions.node');
  expect(run.status).toBe(0);
  expect(run.stdout.trim().split('.')[0]).toBe(imageMajor);
  const notice = run.stderr.trim().split('\n');
  expect(notice).toHaveLength(1);
  expect(notice[0]).toMatch(
    new RegExp(
      `^Node 20\\.\\d+\\.\\d+ is older than 22: using Node v${imageMajor}\\.\\d+\\.\\d+ from the npm registry \\(node_modules/\\.cache/ferry-node/${imageMajor}\\) for Ferry only`,
    ),
  );
  // the machine's own Node is untouched
  expect(execFileSync(join(oldNodeBin, 'node'), ['-p', 'process.versions.node'], { encoding: 'utf8' })).toMatch(/^20\./);
});

it('keeps a supported Node from PATH and says nothing', () => {
  const run = runWith(dirname(process.execPath), 'node', '-p', 'process.versions.node');
  expect(run.status).toBe(0);
  expect(run.stdout.trim()).toBe(process.versions.node);
  expect(run.stderr).toBe('');
});

it('passes the exit status of the command through', () => {
  const run = runWith(dirname(process.execPath), 'node', '-e', 'process.exit(7)');
  expect(run.status).toBe(7);
});
