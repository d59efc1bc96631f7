import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from '../src/config.js';
import { createCidrMatcher, normalizeAddress, parseCidr } from '../src/net/address.js';

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env, '/srv');
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('loadConfig', () => {
  it('uses the documented defaults', () => {
    const config = loadConfig({}, '/srv');
    expect(config.dataDir).toBe('/srv/data');
    expect(config.dbFile).toBe('/srv/data/ferry.db');
    expect(config.ftp).toEqual({ host: '::', port: 2121, ftpsPort: null, proxyProtocol: { mode: 'off', trusted: [] } });
    expect(config.http).toMatchObject({ host: '0.0.0.0', port: 8080 });
    expect(config.admin).toMatchObject({ username: 'admin', password: null });
    expect(config.tls).toBeNull();
    expect(config.logLevel).toBe('info');
    expect(config.bans).toMatchObject({ threshold: 10, windowMs: 300_000, allowlist: [] });
    expect(config.fixedSettings).toEqual({ values: {}, fixedBy: {} });
    expect(Object.isFrozen(config.ftp)).toBe(true);
  });

  it('reads every variable and reports env-set runtime settings as fixed', () => {
    const config = loadConfig(
      {
        FERRY_DATA_DIR: 'var',
        FERRY_FTP_PORT: '0',
        FERRY_FTPS_PORT: '990',
        FERRY_HTTP_PORT: '0',
        FERRY_HTTP_HOST: '127.0.0.1',
        FERRY_PASV_PORTS: '0-0',
        FERRY_PASV_ADDRESS: 'ftp.example.org',
        FERRY_ADMIN_USER: 'root',
        FERRY_ADMIN_PASSWORD: 'long enough',
        FERRY_TLS_CERT: 'c.pem',
        FERRY_TLS_KEY: 'k.pem',
        FERRY_LOG_LEVEL: 'warn',
        FERRY_BAN_ALLOWLIST: '10.0.0.0/8, 192.168.1.5',
        FERRY_RETENTION_DAYS: '7',
        FERRY_PASV_LOCAL_FOR_PRIVATE: 'false',
        FERRY_PROXY_PROTOCOL: 'V2',
        FERRY_TRUSTED_PROXIES: '10.0.0.2, 10.0.1.0/24',
      },
      '/srv',
    );
    expect(config.dataDir).toBe('/srv/var');
    expect(config.ftp).toEqual({ host: '::', port: 0, ftpsPort: 990, proxyProtocol: { mode: 'v2', trusted: ['10.0.0.2', '10.0.1.0/24'] } });
    expect(config.http.host).toBe('127.0.0.1');
    expect(config.tls).toEqual({ certFile: '/srv/c.pem', keyFile: '/srv/k.pem' });
    expect(config.bans.allowlist).toEqual(['10.0.0.0/8', '192.168.1.5']);
    expect(config.fixedSettings.values).toEqual({
      passivePorts: '0-0',
      passiveAddress: 'ftp.example.org',
      passiveLocalForPrivateClients: false,
      transcriptRetentionDays: 7,
    });
    expect(config.fixedSettings.fixedBy).toEqual({
      passivePorts: 'FERRY_PASV_PORTS',
      passiveAddress: 'FERRY_PASV_ADDRESS',
      passiveLocalForPrivateClients: 'FERRY_PASV_LOCAL_FOR_PRIVATE',
      transcriptRetentionDays: 'FERRY_RETENTION_DAYS',
    });
  });

  it('lists every problem at once, each naming its variable', () => {
    const problems = problemsOf({
      FERRY_FTP_PORT: 'abc',
      FERRY_HTTP_PORT: '70000',
      FERRY_PASV_PORTS: '60000-50000',
      FERRY_PASV_ADDRESS: '300.1.1.1',
      FERRY_ADMIN_PASSWORD: 'short',
      FERRY_TLS_CERT: 'only-cert.pem',
      FERRY_LOG_LEVEL: 'loud',
      FERRY_BAN_ALLOWLIST: '10.0.0.0/33',
      FERRY_HTTP_HOST: 'example',
      FERRY_PASV_LOCAL_FOR_PRIVATE: 'sometimes',
      FERRY_PROXY_PROTOCOL: 'v3',
      FERRY_TRUSTED_PROXIES: 'the balancer',
    });
    const named = problems.map((p) => p.split(':')[0]);
    expect(named.sort()).toEqual(
      [
        'FERRY_ADMIN_PASSWORD',
        'FERRY_BAN_ALLOWLIST',
        'FERRY_FTP_PORT',
        'FERRY_HTTP_HOST',
        'FERRY_HTTP_PORT',
        'FERRY_LOG_LEVEL',
        'FERRY_PASV_ADDRESS',
        'FERRY_PASV_LOCAL_FOR_PRIVATE',
        'FERRY_PASV_PORTS',
        'FERRY_PROXY_PROTOCOL',
        'FERRY_TLS_KEY',
        'FERRY_TRUSTED_PROXIES',
      ].sort(),
    );
    expect(problems.find((p) => p.startsWith('FERRY_PASV_PORTS'))).toMatch(/greater than the last/);
    expect(problemsOf({ FERRY_PROXY_PROTOCOL: 'any' })).toEqual([
      'FERRY_TRUSTED_PROXIES: must name the load balancers that send PROXY headers when FERRY_PROXY_PROTOCOL is on',
    ]);
  });

  it('reads whose X-Forwarded-For to believe: nobody, one proxy on a private network, or the listed proxies', () => {
    const trust = (value?: string) => loadConfig(value === undefined ? {} : { FERRY_TRUST_PROXY: value }, '/srv').http.trustProxy;
    expect(trust()).toBeNull();
    expect(trust('FALSE')).toBeNull();
    expect(trust('True')).toBe('private');
    expect(trust('10.0.0.2, 172.16.0.0/12,2001:db8::1')).toEqual(['10.0.0.2', '172.16.0.0/12', '2001:db8::1']);
    expect(problemsOf({ FERRY_TRUST_PROXY: '1' })).toEqual(['FERRY_TRUST_PROXY: "1" is not an address or network like 10.0.0.0/8']);
  });

  it('rejects privileged passive ports but accepts 0-0', () => {
    expect(problemsOf({ FERRY_PASV_PORTS: '21-30' })[0]).toMatch(/^FERRY_PASV_PORTS: .*1024/);
    expect(problemsOf({ FERRY_PASV_PORTS: '0-0' })).toEqual([]);
  });

  it('resolves FERRY_HOME_ROOTS against the data directory, default <data>/files, and refuses a NUL', () => {
    expect(loadConfig({ FERRY_DATA_DIR: '/srv/ferry' }, '/').homeRoots).toEqual(['/srv/ferry/files']);
    expect(loadConfig({ FERRY_DATA_DIR: '/srv/ferry', FERRY_HOME_ROOTS: 'homes, /mnt/ftp' }, '/').homeRoots).toEqual([
      '/srv/ferry/homes',
      '/mnt/ftp',
    ]);
    expect(problemsOf({ FERRY_HOME_ROOTS: '/mnt/a\0b' })[0]).toMatch(/^FERRY_HOME_ROOTS: .*NUL/);
  });

  it('refuses a common admin password', () => {
    expect(problemsOf({ FERRY_ADMIN_PASSWORD: 'Password1' })[0]).toMatch(/^FERRY_ADMIN_PASSWORD: is one of the most common passwords/);
    expect(problemsOf({ FERRY_ADMIN_PASSWORD: 'correct horse battery' })).toEqual([]);
  });

  it('documents every variable it reads', () => {
    const names = CONFIG_VARIABLES.map((v) => v.name);
    for (const name of [
      'FERRY_DATA_DIR',
      'FERRY_HOME_ROOTS',
      'FERRY_FTP_PORT',
      'FERRY_FTPS_PORT',
      'FERRY_HTTP_PORT',
      'FERRY_HTTP_HOST',
      'FERRY_PASV_PORTS',
      'FERRY_PASV_ADDRESS',
      'FERRY_ADMIN_USER',
      'FERRY_ADMIN_PASSWORD',
      'FERRY_TLS_CERT',
      'FERRY_TLS_KEY',
      'FERRY_LOG_LEVEL',
    ]) {
      expect(names).toContain(name);
    }
  });
});

describe('address helpers', () => {
  it('treats IPv4-mapped IPv6 as IPv4', () => {
    expect(normalizeAddress('::FFFF:127.0.0.2')).toBe('127.0.0.2');
    const lan = createCidrMatcher(['10.0.0.0/8', '2001:db8::/32']);
    expect(lan('::ffff:10.1.2.3')).toBe(true);
    expect(lan('11.0.0.1')).toBe(false);
    expect(lan('2001:db8::1')).toBe(true);
  });

  it('parses CIDRs and bare addresses, rejects junk', () => {
    expect(parseCidr('192.168.1.5')).toEqual({ address: '192.168.1.5', prefix: 32, family: 'ipv4' });
    expect(parseCidr('::1/128')).toMatchObject({ prefix: 128, family: 'ipv6' });
    for (const bad of ['10.0.0.0/33', 'x/8', '10.0.0.0/8/8', '', '10.0.0.0/']) expect(parseCidr(bad)).toBeNull();
  });
});
