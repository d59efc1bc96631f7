/**
 * docs/cluster/docker-compose.yml (two nodes, PostgreSQL, HAProxy), checked by Debian's docker-compose 1.29 (`config`
 * needs no engine): it parses once its two variables are set, and what the nodes are told agrees with what the other
 * services are — one database, distinct node names, disjoint passive ranges published with their own numbers, the
 * shared files folder at FERRY_HOME_ROOTS on both, HAProxy's fixed address trusted for PROXY headers, and the
 * HAProxy configuration naming both nodes' control ports. The HAProxy file itself runs in test/ftp/two-nodes.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { composeBinary, createProject, expandRange, readRepoFile, type ComposeConfig } from './lib/compose.js';

const missing = composeBinary === null;

function resolved(env: string): ComposeConfig {
  const p = createProject({
    compose: readRepoFile('docs/cluster/docker-compose.yml'),
    env,
    extra: { 'haproxy.cfg': readRepoFile('docs/cluster/haproxy.cfg') },
  });
  try {
    return p.resolved();
  } finally {
    p.remove();
  }
}

describe.skipIf(missing)('docs/cluster/docker-compose.yml', { timeout: 30_000 }, () => {
  it('stops with a message until FERRY_PASV_ADDRESS and POSTGRES_PASSWORD are set', () => {
    for (const env of ['POSTGRES_PASSWORD=secret\n', 'FERRY_PASV_ADDRESS=203.0.113.10\n']) {
      const p = createProject({ compose: readRepoFile('docs/cluster/docker-compose.yml'), env });
      try {
        const r = p.run(['config', '-q']);
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/set (FERRY_PASV_ADDRESS|POSTGRES_PASSWORD)/);
      } finally {
        p.remove();
      }
    }
  });

  it('gives two nodes one database, their own names and passive ranges, the shared files folder, and trusts HAProxy', () => {
    const config = resolved('FERRY_PASV_ADDRESS=203.0.113.10\nPOSTGRES_PASSWORD=secret-password\n');
    const { postgres, haproxy } = config.services;
    const nodes = [config.services['ferry-a']!, config.services['ferry-b']!];
    expect(postgres?.environment).toMatchObject({ POSTGRES_USER: 'ferry', POSTGRES_PASSWORD: 'secret-password', POSTGRES_DB: 'ferry' });
    const env = nodes.map((n) => n.environment ?? {});
    for (const e of env) {
      expect(e.FERRY_DATABASE_URL).toBe('postgres://ferry:secret-password@postgres:5432/ferry');
      expect(e.FERRY_PASV_ADDRESS).toBe('203.0.113.10');
      expect(e.FERRY_PROXY_PROTOCOL).toBe('v2');
    }
    expect(env.map((e) => e.FERRY_NODE_NAME)).toEqual(['ferry-a', 'ferry-b']);
    // Passive ranges: disjoint, each published with the same numbers on its own node.
    const ranges = env.map((e) => expandRange(String(e.FERRY_PASV_PORTS)));
    expect(ranges[0]!.filter((p) => ranges[1]!.includes(p))).toEqual([]);
    nodes.forEach((n, i) => {
      const published = (n.ports ?? []).filter((p) => ranges[i]!.includes(p.target));
      expect(published.map((p) => p.target)).toEqual(ranges[i]);
      expect(published.map((p) => Number(p.published))).toEqual(ranges[i]);
      // The control port is not published: clients come through HAProxy.
      expect((n.ports ?? []).map((p) => p.target)).not.toContain(Number(env[i]!.FERRY_FTP_PORT));
    });
    // One files folder for both, where their homes lie; a data folder each.
    for (const [i, n] of nodes.entries()) {
      const mounts = new Map((n.volumes ?? []).map((v) => [v.split(':')[1], v.split(':')[0]]));
      expect(mounts.get(String(env[i]!.FERRY_HOME_ROOTS))).toBe('ferry-files');
      expect(mounts.get(String(env[i]!.FERRY_DATA_DIR))).toBe(`ferry-${'ab'[i]}-data`);
    }
    // HAProxy has the trusted address, inside the network's subnet, and publishes port 21.
    const address = haproxy?.networks?.ferry?.ipv4_address;
    expect(env.map((e) => e.FERRY_TRUSTED_PROXIES)).toEqual([address, address]);
    expect(config.networks?.ferry?.ipam?.config?.[0]?.subnet).toBe('172.30.0.0/24');
    expect(address).toMatch(/^172\.30\.0\.\d+$/);
    expect(haproxy?.ports).toContainEqual(expect.objectContaining({ published: 21, target: 21 }));
    expect(haproxy?.volumes).toContainEqual(expect.stringMatching(/haproxy\.cfg:\/usr\/local\/etc\/haproxy\/haproxy\.cfg:ro$/));
  });

  it('has HAProxy send PROXY v2 to both nodes’ control ports', () => {
    const cfg = readRepoFile('docs/cluster/haproxy.cfg');
    const env = resolved('FERRY_PASV_ADDRESS=203.0.113.10\nPOSTGRES_PASSWORD=x\n').services['ferry-a']!.environment!;
    for (const name of ['ferry-a', 'ferry-b'])
      expect(cfg).toMatch(new RegExp(`^\\s*server ${name} ${name}:${env.FERRY_FTP_PORT} send-proxy-v2 check`, 'm'));
    expect(cfg).toMatch(/^\s*bind :21$/m);
  });
});
