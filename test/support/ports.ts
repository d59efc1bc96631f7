/** Free ports for servers a test starts, found by trying them (bounded tries). */
import { createServer } from 'node:net';

/**
 * The first of `size` consecutive ports on 127.0.0.1 that are free now (a passive port range). Looked for below
 * the ephemeral range (32768 and up), where a busy machine's closed connections linger in TIME_WAIT.
 */
export async function freePortRange(size: number): Promise<number> {
  const isFree = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 10_000);
    let ok = true;
    for (let p = base; p < base + size && ok; p++) ok = await isFree(p);
    if (ok) return base;
  }
  throw new Error(`no ${size} consecutive free ports found`);
}
