// The soak's attack mode: while attackers do what the defences are there for, a normal client keeps doing
// its work (log in, upload, download and compare, log out), and every one of its sessions must be served.
// Attackers, each from an address of its own on loopback:
//   - a guesser that gets its address banned, then loops connect/close as fast as it can;
//   - a flood of connections that never log in, reopened as soon as they are closed;
//   - a port grabber: an account of its own on more sessions than there are passive ports, sending EPSV and
//     never connecting.
// Every loop is bounded by the deadline and by a count.
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { FtpClient } from './ftp-client.mjs';

const NORMAL = '127.0.0.80';
const GUESSER = '127.0.0.66';
/** Enough addresses to fill every session slot (24 x 50 > 1,000) if connections that never log in were not capped. */
const FLOODERS = Array.from({ length: 24 }, (_, i) => `127.0.1.${i + 1}`);
const GRABBER = '127.0.0.71';
/** A flood connection the server has not greeted (or closed) by then is given up: one whose handshake the kernel
 * completed while the listen queue was full is never accepted and would otherwise wait forever. */
const GREETING_WAIT_MS = 5_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sha = (b) => createHash('sha256').update(b).digest('hex');

/** Runs the attack for `seconds`; resolves with what the normal client got and what each attacker did. */
export async function attack({ server, password, seconds, log }) {
  const deadline = Date.now() + seconds * 1000;
  const grabberPassword = `Grab-${randomBytes(9).toString('base64url')}`;
  await server.api('POST', '/users', { username: 'grabber', password: grabberPassword });
  const stats = {
    guesses: 0,
    bannedKnocks: 0,
    floodConnections: 0,
    floodRefused: 0,
    floodUnanswered: 0,
    grabbedPorts: 0,
    grabRefused: 0,
  };
  const progress = setInterval(
    () => log(`attack: ${Math.max(0, Math.round((deadline - Date.now()) / 1000))} s left, ${JSON.stringify(stats)}`),
    10_000,
  );

  const attackers = [
    guess(server, deadline, stats),
    ...FLOODERS.map((address) => flood(server, address, deadline, stats)),
    grab(server, grabberPassword, deadline, stats),
  ];
  await sleep(1_500); // let the attack build up before the normal client starts
  const normal = await normalClient(server, password, deadline, log);
  await Promise.allSettled(attackers);
  clearInterval(progress);
  return { ...normal, ...stats };
}

/** Wrong passwords until the address is banned, then connect/close in a loop. */
async function guess(server, deadline, stats) {
  for (let i = 0; i < 50 && Date.now() < deadline; i++) {
    try {
      const c = await FtpClient.connect({ port: server.port, localAddress: GUESSER, timeoutMs: 5_000 });
      await c.send(`USER ${server.user}`);
      await c.send(`PASS wrong-${i}`);
      stats.guesses++;
      c.destroy();
    } catch {
      break; // refused at the door: banned
    }
  }
  for (let i = 0; i < 1_000_000 && Date.now() < deadline; i++) {
    await knock(server.port, GUESSER);
    stats.bannedKnocks++;
  }
}

function knock(port, localAddress) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress });
    const done = () => (s.destroy(), resolve());
    s.once('data', done);
    s.once('error', done);
    s.once('close', done);
    setTimeout(done, 2_000).unref();
  });
}

/** Holds as many connections that never log in as the server lets one address have, reopening closed ones. */
async function flood(server, address, deadline, stats) {
  const held = new Set();
  while (Date.now() < deadline) {
    const opening = [];
    for (let i = held.size; i < 60; i++) {
      opening.push(
        new Promise((resolve) => {
          const s = net.connect({ host: '127.0.0.1', port: server.port, localAddress: address });
          const unanswered = setTimeout(() => {
            stats.floodUnanswered++;
            s.destroy();
          }, GREETING_WAIT_MS);
          s.on('error', () => undefined);
          s.once('data', (d) => {
            clearTimeout(unanswered);
            stats.floodConnections++;
            if (String(d).startsWith('421')) {
              stats.floodRefused++;
              s.destroy();
            } else {
              held.add(s);
              s.once('close', () => held.delete(s));
            }
            resolve();
          });
          s.once('close', () => (clearTimeout(unanswered), resolve()));
        }),
      );
    }
    await Promise.all(opening);
    await sleep(250);
  }
  for (const s of held) s.destroy();
}

/** 30 sessions of one account (more than the 20 passive ports) send EPSV over and over and never connect. */
async function grab(server, grabberPassword, deadline, stats) {
  const sessions = [];
  for (let i = 0; i < 30; i++) {
    try {
      const c = await FtpClient.connect({ port: server.port, localAddress: GRABBER, timeoutMs: 5_000 });
      await c.login('grabber', grabberPassword);
      sessions.push(c);
    } catch {
      // refused: fine, the others grab
    }
  }
  while (Date.now() < deadline) {
    for (const c of sessions) {
      const r = await c.send('EPSV').catch(() => null);
      if (r?.code === 229) stats.grabbedPorts++;
      else stats.grabRefused++;
    }
    await sleep(200);
  }
  for (const c of sessions) c.destroy();
}

/** Log in, upload, download and compare, log out: again and again until the deadline. */
async function normalClient(server, password, deadline, log) {
  let attempted = 0;
  let served = 0;
  const failures = [];
  for (let i = 0; i < 100_000 && Date.now() < deadline - 1_000; i++) {
    attempted++;
    const body = randomBytes(64 * 1024);
    let c;
    try {
      c = await FtpClient.connect({ port: server.port, localAddress: NORMAL, timeoutMs: 10_000 });
      await c.login(server.user, password);
      await c.expect('TYPE I');
      await c.store(`normal-${i}.bin`, body);
      const chunks = [];
      await c.receive(`RETR normal-${i}.bin`, (chunk) => chunks.push(chunk));
      if (sha(Buffer.concat(chunks)) !== sha(body)) throw new Error('downloaded bytes differ');
      await c.expect(`DELE normal-${i}.bin`);
      await c.quit();
      served++;
    } catch (err) {
      c?.destroy();
      failures.push(err.message);
      if (failures.length <= 3) log(`normal client, session ${i}: ${err.message}`);
    }
  }
  return { attempted, served, failures };
}
