/**
 * A NAT lab made of Linux network namespaces: an "internet" segment, a server behind its NAT router,
 * a client behind its own NAT router, a public client, a second client on the server's LAN, and IPv6
 * end to end. Routers are real kernel NAT (iptables MASQUERADE/SNAT/DNAT) with the kernel's FTP helper
 * switched on per scenario (`-t raw … -j CT --helper ftp`).
 *
 *   internet 203.0.113.0/24 + 198.51.100.0/24 + 2001:db8::/64 (a bridge in the `wan` namespace)
 *     ├─ srt  server router  203.0.113.1 / 2001:db8::1      LAN 10.0.1.1/24, 2001:db8:1::1/64 (bridge)
 *     │     ├─ srv  Ferry     10.0.1.10, 2001:db8:1::10
 *     │     └─ lan  LAN client 10.0.1.20
 *     ├─ crt  client router  198.51.100.1 (+ .2 for an address pool)   LAN 192.168.1.1/24
 *     │     └─ cli  client behind NAT 192.168.1.10
 *     └─ pub  public client  198.51.100.20, 2001:db8::20
 *
 * Nothing touches the machine's own interfaces: every link is a veth pair between lab namespaces, created
 * inside them. Namespaces are named `ferrylab-<pid>-<host>`; `destroy()` removes them, so do a process exit,
 * SIGINT and SIGTERM, and a new lab first removes those of lab runs whose process is gone (killed with -9).
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';

export const HOSTS = ['wan', 'srt', 'srv', 'lan', 'crt', 'cli', 'pub'] as const;
export type Host = (typeof HOSTS)[number];

export const ADDR = {
  serverPublic: '203.0.113.1',
  serverPrivate: '10.0.1.10',
  serverRouterLan: '10.0.1.1',
  lanClient: '10.0.1.20',
  clientRouterPublic: '198.51.100.1',
  clientRouterPool: '198.51.100.2',
  clientPrivate: '192.168.1.10',
  publicClient: '198.51.100.20',
  serverPublic6: '2001:db8::1',
  server6: '2001:db8:1::10',
  publicClient6: '2001:db8::20',
} as const;

const PREFIX = 'ferrylab-';
const NETNS_DIR = '/var/run/netns';
const ETC_NETNS = '/etc/netns';

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Why the lab cannot run on this machine, or null when it can. */
export function labUnavailable(): string | null {
  if (process.platform !== 'linux') return 'the NAT lab needs Linux network namespaces';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'the NAT lab needs root (ip netns, iptables)';
  for (const tool of ['ip', 'iptables', 'ip6tables']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `the NAT lab needs ${tool} (Debian: iproute2, iptables)`;
    }
  }
  const probe = `${PREFIX}probe-${process.pid}`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe' });
    execFileSync(
      'ip',
      ['netns', 'exec', probe, 'iptables', '-t', 'raw', '-A', 'PREROUTING', '-p', 'tcp', '--dport', '21', '-j', 'CT', '--helper', 'ftp'],
      {
        stdio: 'pipe',
      },
    );
    execFileSync('ip', ['netns', 'exec', probe, 'iptables', '-t', 'nat', '-A', 'POSTROUTING', '-j', 'MASQUERADE'], { stdio: 'pipe' });
  } catch (error) {
    return `network namespaces with NAT and the FTP conntrack helper are not available here: ${firstLine(error)}`;
  } finally {
    try {
      execFileSync('ip', ['netns', 'del', probe], { stdio: 'ignore' });
    } catch {
      // never created
    }
  }
  return null;
}

function firstLine(error: unknown): string {
  const e = error as { stderr?: Buffer; message?: string };
  return (e.stderr?.toString() || e.message || String(error)).split('\n')[0] ?? '';
}

/** Removes namespaces left by lab runs whose process no longer exists (a run killed with -9). */
export function removeStale(): void {
  if (!existsSync(NETNS_DIR)) return;
  for (const name of readdirSync(NETNS_DIR)) {
    const match = /^ferrylab-(\d+)-/.exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    if (pid !== process.pid && processAlive(pid)) continue;
    deleteNamespace(name);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function deleteNamespace(name: string): void {
  try {
    execFileSync('ip', ['netns', 'pids', name], { stdio: 'pipe' })
      .toString()
      .split(/\s+/)
      .filter(Boolean)
      .forEach((pid) => {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone
        }
      });
  } catch {
    // no such namespace
  }
  try {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  } catch {
    // already gone
  }
  rmSync(`${ETC_NETNS}/${name}`, { recursive: true, force: true });
}

export class Lab {
  readonly ns: Record<Host, string>;
  #destroyed = false;
  readonly #onExit = () => this.destroy();
  /** Interrupted (Ctrl-C, a CI timeout): remove the lab, then end the way the signal would have. */
  readonly #onSignal = (signal: NodeJS.Signals) => {
    this.destroy();
    process.kill(process.pid, signal);
  };

  private constructor() {
    this.ns = Object.fromEntries(HOSTS.map((h) => [h, `${PREFIX}${process.pid}-${h}`])) as Record<Host, string>;
  }

  /** Builds the whole topology; on any failure removes what it made and rethrows. */
  static create(): Lab {
    removeStale();
    const lab = new Lab();
    process.once('exit', lab.#onExit);
    process.once('SIGINT', lab.#onSignal);
    process.once('SIGTERM', lab.#onSignal);
    try {
      lab.#build();
    } catch (error) {
      lab.destroy();
      throw error;
    }
    return lab;
  }

  /** Runs a command in a host's namespace, synchronously (set-up commands); throws with its stderr. */
  sh(host: Host, argv: string[]): string {
    try {
      return execFileSync('ip', ['netns', 'exec', this.ns[host], ...argv], { stdio: 'pipe', timeout: 20_000 }).toString();
    } catch (error) {
      throw new Error(`[${host}] ${argv.join(' ')}: ${firstLine(error)}`, { cause: error });
    }
  }

  /** Runs a program in a host's namespace; never rejects (the result carries the exit code). */
  run(host: Host, argv: string[], opts: { timeoutMs?: number; input?: string; env?: Record<string, string> } = {}): Promise<CommandResult> {
    const started = Date.now();
    return new Promise((resolve) => {
      const child = execFile(
        'ip',
        ['netns', 'exec', this.ns[host], ...argv],
        { timeout: opts.timeoutMs ?? 60_000, killSignal: 'SIGKILL', maxBuffer: 8 * 1024 * 1024, env: { ...process.env, ...opts.env } },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
          resolve({ code, stdout: String(stdout), stderr: String(stderr), ms: Date.now() - started });
        },
      );
      if (opts.input !== undefined) child.stdin?.end(opts.input);
      else child.stdin?.end();
    });
  }

  /** Replaces a host's iptables rules (both families, all tables) with `rules`, each an argv after `iptables`. */
  firewall(host: Host, rules: { v4?: string[][]; v6?: string[][] }): void {
    for (const [tool, list] of [
      ['iptables', rules.v4 ?? []],
      ['ip6tables', rules.v6 ?? []],
    ] as const) {
      for (const table of ['raw', 'nat', 'filter']) {
        this.sh(host, [tool, '-t', table, '-F']);
        if (table === 'filter') for (const chain of ['INPUT', 'FORWARD', 'OUTPUT']) this.sh(host, [tool, '-P', chain, 'ACCEPT']);
      }
      for (const rule of list) this.sh(host, [tool, ...rule]);
    }
    // Connections of the previous scenario must not keep their old translation.
    this.flushConntrack(host);
  }

  flushConntrack(host: Host): void {
    try {
      this.sh(host, ['sh', '-c', 'command -v conntrack >/dev/null && conntrack -F 2>/dev/null || true']);
    } catch {
      // no conntrack tool: entries expire on their own
    }
  }

  /** An /etc/hosts for one host (ip netns exec bind-mounts /etc/netns/<ns>/hosts). */
  hostsFile(host: Host, entries: Record<string, string>): void {
    const dir = `${ETC_NETNS}/${this.ns[host]}`;
    mkdirSync(dir, { recursive: true });
    const lines = ['127.0.0.1 localhost', '::1 localhost', ...Object.entries(entries).map(([name, ip]) => `${ip} ${name}`)];
    writeFileSync(`${dir}/hosts`, `${lines.join('\n')}\n`);
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    process.off('exit', this.#onExit);
    process.off('SIGINT', this.#onSignal);
    process.off('SIGTERM', this.#onSignal);
    for (const host of [...HOSTS].reverse()) deleteNamespace(this.ns[host]);
  }

  #ip(host: Host, args: string): void {
    this.sh(host, ['ip', ...args.split(' ')]);
  }

  /** A veth pair: `aName` in host a, `bName` in host b (created inside a, never in the root namespace). */
  #link(a: Host, aName: string, b: Host, bName: string): void {
    execFileSync('ip', ['-n', this.ns[a], 'link', 'add', aName, 'type', 'veth', 'peer', 'name', bName, 'netns', this.ns[b]], {
      stdio: 'pipe',
    });
    this.#ip(a, `link set ${aName} up`);
    this.#ip(b, `link set ${bName} up`);
  }

  #build(): void {
    for (const host of HOSTS) {
      execFileSync('ip', ['netns', 'add', this.ns[host]], { stdio: 'pipe' });
      this.#ip(host, 'link set lo up');
      // No router advertisements or duplicate address detection delays in the lab.
      this.sh(host, ['sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
      this.sh(host, ['sysctl', '-qw', 'net.ipv6.conf.default.accept_ra=0']);
    }
    // The internet: one bridge, three attached hosts.
    this.#ip('wan', 'link add br0 type bridge');
    this.#ip('wan', 'link set br0 up');
    for (const host of ['srt', 'crt', 'pub'] as const) {
      this.#link('wan', `v-${host}`, host, 'eth0');
      this.#ip('wan', `link set v-${host} master br0`);
    }
    // The server's LAN: a bridge in its router.
    this.#ip('srt', 'link add br1 type bridge');
    this.#ip('srt', 'link set br1 up');
    for (const host of ['srv', 'lan'] as const) {
      this.#link('srt', `v-${host}`, host, 'eth0');
      this.#ip('srt', `link set v-${host} master br1`);
    }
    // The client's LAN: a direct link to its router.
    this.#link('crt', 'eth1', 'cli', 'eth0');

    // Server router.
    this.#ip('srt', `addr add ${ADDR.serverPublic}/24 dev eth0`);
    this.#ip('srt', 'route add 198.51.100.0/24 dev eth0');
    this.#ip('srt', `addr add ${ADDR.serverRouterLan}/24 dev br1`);
    this.#ip('srt', `-6 addr add ${ADDR.serverPublic6}/64 dev eth0 nodad`);
    this.#ip('srt', '-6 addr add 2001:db8:1::1/64 dev br1 nodad');
    this.sh('srt', ['sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
    // Server and LAN client.
    this.#ip('srv', `addr add ${ADDR.serverPrivate}/24 dev eth0`);
    this.#ip('srv', `route add default via ${ADDR.serverRouterLan}`);
    this.#ip('srv', `-6 addr add ${ADDR.server6}/64 dev eth0 nodad`);
    this.#ip('srv', '-6 route add default via 2001:db8:1::1');
    this.#ip('lan', `addr add ${ADDR.lanClient}/24 dev eth0`);
    this.#ip('lan', `route add default via ${ADDR.serverRouterLan}`);
    // Client router and the client behind it.
    this.#ip('crt', `addr add ${ADDR.clientRouterPublic}/24 dev eth0`);
    this.#ip('crt', `addr add ${ADDR.clientRouterPool}/24 dev eth0`);
    this.#ip('crt', 'route add 203.0.113.0/24 dev eth0');
    this.#ip('crt', 'addr add 192.168.1.1/24 dev eth1');
    this.sh('crt', ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    this.#ip('cli', `addr add ${ADDR.clientPrivate}/24 dev eth0`);
    this.#ip('cli', 'route add default via 192.168.1.1');
    // Public client.
    this.#ip('pub', `addr add ${ADDR.publicClient}/24 dev eth0`);
    this.#ip('pub', 'route add 203.0.113.0/24 dev eth0');
    this.#ip('pub', `-6 addr add ${ADDR.publicClient6}/64 dev eth0 nodad`);
    this.#ip('pub', `-6 route add 2001:db8:1::/64 via ${ADDR.serverPublic6}`);
  }
}
