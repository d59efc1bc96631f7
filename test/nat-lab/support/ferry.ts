/**
 * Ferry inside the lab's server namespace, on port 21 with a fixed passive range, its admin API reachable
 * from the test through a Unix socket (file system paths cross namespaces; addresses do not):
 * test → 127.0.0.1:<port> → <tmp>/api.sock → (server namespace) 127.0.0.1:8080.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSystem, type System } from '../../support/start-system.js';
import type { Lab } from './lab.js';
import { FTP_PORT, PASSIVE } from './routers.js';

const API_PORT = 8080;

/** Runs inside the server namespace: accepts on a Unix socket and pipes to the admin site there. */
const FORWARDER = `
const net = require('node:net');
const [socketPath, port] = process.argv.slice(1);
net.createServer((c) => {
  const u = net.connect(Number(port), '127.0.0.1');
  c.pipe(u).pipe(c);
  c.on('error', () => u.destroy());
  u.on('error', () => c.destroy());
}).listen(socketPath);
`;

export interface LabFerry {
  system: System;
  stop(): Promise<void>;
}

function pipeServer(socketPath: string): Promise<Server> {
  const server = createServer((client) => {
    const upstream = createConnection(socketPath);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function waitForSocket(socketPath: string, forwarder: ChildProcess): Promise<void> {
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    if (forwarder.exitCode !== null) throw new Error(`the API forwarder exited with ${forwarder.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection(socketPath, () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the API forwarder did not start within 10 s');
}

/** Starts Ferry in the server namespace; with `dataDir`, on that data folder (a restart), which stop() then leaves in place. */
export async function startLabFerry(lab: Lab, env: Record<string, string> = {}, dataDir?: string): Promise<LabFerry> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ferry-nat-lab-'));
  const socketPath = path.join(dir, 'api.sock');
  const forwarder = spawn('ip', ['netns', 'exec', lab.ns.srv, process.execPath, '-e', FORWARDER, socketPath, String(API_PORT)], {
    stdio: 'ignore',
  });
  let proxy: Server | null = null;
  try {
    await waitForSocket(socketPath, forwarder);
    proxy = await pipeServer(socketPath);
    const system = await startSystem({
      command: ['ip', 'netns', 'exec', lab.ns.srv, process.execPath, 'apps/server/dist/main.js'],
      httpUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
      ...(dataDir ? { dataDir } : {}),
      env: {
        FERRY_FTP_PORT: String(FTP_PORT),
        FERRY_HTTP_PORT: String(API_PORT),
        FERRY_PASV_PORTS: `${PASSIVE.min}-${PASSIVE.max}`,
        FERRY_FIRST_FTP_USER: 'none',
        ...env,
      },
    });
    const server = proxy;
    return {
      system,
      async stop() {
        await system.stop();
        forwarder.kill('SIGKILL');
        await new Promise<void>((resolve) => server.close(() => resolve()));
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    forwarder.kill('SIGKILL');
    proxy?.close();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
