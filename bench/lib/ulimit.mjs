// Re-runs the current script under a raised open-file limit (1,000+ sessions, each with data sockets).
// The servers it starts inherit the limit. Returns only in the re-executed process.
import { spawnSync } from 'node:child_process';

export function reexecWithFileLimit(limit = 65_536) {
  if (process.env.FERRY_BENCH_REEXEC) return;
  const script = `ulimit -n ${limit} 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"`;
  const r = spawnSync('bash', ['-c', script, 'bash', process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, FERRY_BENCH_REEXEC: '1' },
  });
  process.exit(r.status ?? 1);
}
