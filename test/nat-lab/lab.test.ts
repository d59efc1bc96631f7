/**
 * The lab says why when it cannot run (so the lab tests skip with that message, or fail where
 * FERRY_REQUIRE_NAT_LAB=1), and cleans up after itself: a destroyed lab leaves no namespace and no
 * /etc/netns entry, an interrupted run (SIGTERM) removes its lab on the way out, and the namespaces of a
 * run killed with -9 are removed by the next lab. Skips like the lab itself where it cannot run.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { REPO_ROOT } from '../support/start-system.js';
import { Lab, labUnavailable, removeStale } from './support/lab.js';

const unavailable = labUnavailable();

function namespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'])
    .toString()
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter(Boolean);
}

describe.skipIf(unavailable !== null)('NAT lab clean-up', () => {
  it('says why it cannot run instead of running, for a user without root', async () => {
    // A copy the unprivileged user can read wherever the repository lies (lab.ts imports only node: modules).
    const dir = mkdtempSync(path.join(tmpdir(), 'ferry-lab-nobody-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    chmodSync(dir, 0o755);
    copyFileSync(path.join(REPO_ROOT, 'test/nat-lab/support/lab.ts'), path.join(dir, 'lab.ts'));
    const script = `
      import { labUnavailable } from ${JSON.stringify(path.join(dir, 'lab.ts'))};
      console.log(labUnavailable());
    `;
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: '/', uid: 65534, gid: 65534 });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const timer = setTimeout(() => (child.kill('SIGKILL'), reject(new Error('no answer within 20 s'))), 20_000);
      child.once('exit', () => (clearTimeout(timer), resolve(out.trim())));
    });
    expect(output).toBe('the NAT lab needs root (ip netns, iptables)');
  });

  it('destroy() removes every namespace and hosts file it made', () => {
    const lab = Lab.create();
    lab.hostsFile('srv', { 'ftp.lab.example': '203.0.113.1' });
    const made = Object.values(lab.ns);
    expect(namespaces()).toEqual(expect.arrayContaining(made));
    lab.destroy();
    const left = namespaces();
    expect(made.filter((ns) => left.includes(ns))).toEqual([]);
    expect(existsSync(`/etc/netns/${lab.ns.srv}`)).toBe(false);
  });

  it('a run interrupted with SIGTERM removes its lab; one killed with -9 is removed by the next lab', async () => {
    // A child process builds a lab and waits; its namespaces carry its pid (Node runs lab.ts as is: it has only erasable types).
    const script = `
      import { Lab } from ${JSON.stringify(path.join(REPO_ROOT, 'test/nat-lab/support/lab.ts'))};
      Lab.create();
      console.log('ready');
      setInterval(() => {}, 1000);
    `;
    const built = async (signal: NodeJS.Signals): Promise<string[]> => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const pid = child.pid!;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the child did not build its lab within 30 s')), 30_000);
        child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && (clearTimeout(timer), resolve()));
        child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`the child exited with ${code}`))));
      });
      const mine = namespaces().filter((ns) => ns.startsWith(`ferrylab-${pid}-`));
      expect(mine).toHaveLength(7);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await exited;
      return mine;
    };

    const interrupted = await built('SIGTERM');
    expect(namespaces().filter((ns) => interrupted.includes(ns))).toEqual([]);

    const killed = await built('SIGKILL');
    expect(namespaces().filter((ns) => killed.includes(ns))).toHaveLength(7); // nothing ran on the way out
    removeStale();
    expect(namespaces().filter((ns) => killed.includes(ns))).toEqual([]);
  });
});
