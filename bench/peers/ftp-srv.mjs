// ftp-srv (npm) in its own Node process through ftp-srv-server.mjs.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, spawnServer, waitForLine } from '../lib/spawn.mjs';

const LAUNCHER = fileURLToPath(new URL('./ftp-srv-server.mjs', import.meta.url));
export const FTPSRV_USER = 'benchuser';

export async function startFtpSrv({ dir, root, password, pasv, cert }) {
  const port = await freePort();
  const opts = { port, pasv, cert, root, user: FTPSRV_USER, password };
  const child = spawnServer(process.execPath, [LAUNCHER, JSON.stringify(opts)], { logFile: join(dir, 'server.log'), readStdout: true });
  await waitForLine(child, /listening/, 15_000);
  return { name: 'ftp-srv', port, child, user: FTPSRV_USER, supports: { mlsd: false, ftps: true } };
}
