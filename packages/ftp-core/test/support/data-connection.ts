/** Real TCP data connections on loopback for the transfer paths' tests. */
import { connect, createServer, type Server, type Socket } from 'node:net';

const listeners: Server[] = [];

/** A data connection the way a passive listener accepts it (paused, nothing read yet), and the client's end. */
export async function dataConnection(): Promise<{ accepted: Socket; client: Socket }> {
  let server!: Server;
  const accepted = new Promise<Socket>((resolve) => {
    server = createServer({ pauseOnConnect: true }, (s) => resolve(s));
  });
  listeners.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = connect({ port: (server.address() as { port: number }).port, host: '127.0.0.1' });
  client.on('error', () => undefined);
  const socket = await accepted;
  socket.on('error', () => undefined);
  return { accepted: socket, client };
}

/** Closes the listeners dataConnection() opened (for afterEach). */
export function closeDataListeners(): void {
  for (const server of listeners.splice(0)) server.close();
}
