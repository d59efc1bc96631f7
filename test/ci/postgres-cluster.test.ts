/**
 * The throwaway PostgreSQL clusters of tests and benchmarks (scripts/postgres-cluster.mjs) do not outlive a run that
 * was killed: the next start stops and removes a cluster whose starting process is gone, and leaves a live one alone.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it, onTestFinished } from 'vitest';
// @ts-expect-error -- a plain ES module without types, shared with the benchmarks
import { removeOrphanedClusters, startPostgresCluster } from '../../scripts/postgres-cluster.mjs';
import { REPO_ROOT } from '../support/start-system.js';

type Cluster = { url: string; socketDir: string; stop(): void };

/** A process that starts a cluster, prints its folder and waits to be killed. */
function clusterInChild(): Promise<{ pid: number; dir: string }> {
  const script = `import { startPostgresCluster } from ${JSON.stringify(join(REPO_ROOT, 'scripts/postgres-cluster.mjs'))};
const c = await startPostgresCluster();
console.log(c.socketDir);
setInterval(() => {}, 60_000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  onTestFinished(() => void child.kill('SIGKILL'));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve({ pid: child.pid!, dir: out.trim() });
    });
    child.once('exit', (code) => reject(new Error(`the cluster's process exited (${code}) before it started one`)));
  });
}

const postmasterPid = (dir: string) => Number(readFileSync(join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
/** Whether process `pid` runs (a zombie, ended and waiting for its parent, does not). */
const running = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
};

it('stops and removes the cluster of a killed process, and keeps a live one', { timeout: 120_000 }, async () => {
  const live = (await startPostgresCluster()) as Cluster;
  onTestFinished(() => live.stop());
  const orphan = await clusterInChild();
  const server = postmasterPid(orphan.dir);
  expect(running(server)).toBe(true);

  process.kill(orphan.pid, 'SIGKILL'); // its stop() never runs: PostgreSQL goes on
  await new Promise((r) => setTimeout(r, 200));
  expect(running(server)).toBe(true);

  expect(removeOrphanedClusters()).toBeGreaterThanOrEqual(1);
  expect(existsSync(orphan.dir)).toBe(false);
  expect(running(server)).toBe(false);
  // This process's own cluster is untouched and still answers.
  expect(existsSync(live.socketDir)).toBe(true);
  expect(running(postmasterPid(live.socketDir))).toBe(true);
});
