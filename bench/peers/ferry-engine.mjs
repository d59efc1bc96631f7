// Ferry's bare engine in its own Node process through ferry-engine-server.mjs (see there).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, spawnServer, waitForLine } from '../lib/spawn.mjs';

const LAUNCHER = fileURLToPath(new URL('./ferry-engine-server.mjs', import.meta.url));
const ENGINE = fileURLToPath(new URL('../../packages/ftp-core/dist/index.js', import.meta.url));
export const ENGINE_USER = 'benchuser';

export async function startFerryEngine({ dir, root, password, pasv, cert }) {
  if (!existsSync(ENGINE)) throw new Error(`${ENGINE} not found: run pnpm build`);
  const port = await freePort();
  const opts = { port, pasv, cert, root, user: ENGINE_USER, password };
  // FERRY_BENCH_NODE_ARGS as for Ferry (bench/README.md, "Profiling Ferry"): a profile lands in `dir`.
  const nodeArgs = process.env.FERRY_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawnServer(process.execPath, [...nodeArgs, LAUNCHER, JSON.stringify(opts)], {
    cwd: dir,
    logFile: join(dir, 'server.log'),
    readStdout: true,
  });
  await waitForLine(child, /listening/, 15_000);
  return { name: 'ferry-engine', port, child, user: ENGINE_USER, supports: { mlsd: true, ftps: true } };
}
