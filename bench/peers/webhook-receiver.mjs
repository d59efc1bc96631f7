#!/usr/bin/env node
// The webhook receiver of the `ferry-events` server: a process of its own (so that its work is not done on
// the benchmark client's event loop) listening on 127.0.0.1 on a port the system picks, printed as
// "listening on <port>". It reads every POST's body, checks Ferry's signature with FERRY_BENCH_WEBHOOK_SECRET,
// answers 204 and counts it; GET /count answers the counts as JSON.
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';

const secret = process.env.FERRY_BENCH_WEBHOOK_SECRET ?? '';
const counts = { requests: 0, events: 0, badSignatures: 0, byType: {} };
const seen = new Set(); // event ids: a delivery sent again (at least once) is a request, not a new event

function signed(header, body) {
  const parts = Object.fromEntries(
    String(header ?? '')
      .split(',')
      .map((p) => p.split('=', 2)),
  );
  if (!parts.t || !parts.v1) return false;
  const want = createHmac('sha256', secret).update(`${parts.t}.${body}`).digest();
  const got = Buffer.from(parts.v1, 'hex');
  return got.length === want.length && timingSafeEqual(got, want);
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/count') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(counts));
    return;
  }
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    counts.requests += 1;
    if (!signed(req.headers['ferry-signature'], body)) counts.badSignatures += 1;
    const id = req.headers['ferry-event-id'];
    if (typeof id === 'string' && !seen.has(id)) {
      seen.add(id);
      counts.events += 1;
      const type = String(req.headers['ferry-event-type']);
      counts.byType[type] = (counts.byType[type] ?? 0) + 1;
    }
    res.writeHead(204);
    res.end();
  });
});
server.keepAliveTimeout = 60_000; // Ferry's fetch keeps its connections: don't make it reconnect between bursts
server.listen(0, '127.0.0.1', () => console.log(`listening on ${server.address().port}`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)).closeAllConnections());
