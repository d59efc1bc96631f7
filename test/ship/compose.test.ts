/**
 * docker-compose.yml and .env.example, checked by Debian's docker-compose 1.29 (`config` needs no
 * engine): the file parses, the passive range is published with the numbers Ferry uses, and the
 * container-side ports, volume and health check agree with the Dockerfile.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from './lib/context.js';
import {
  composeBinary,
  createProject,
  expandRange,
  filledEnv,
  readRepoFile,
  type ComposeProject,
  type ComposeService,
} from './lib/compose.js';
import { envOf, finalStage, healthcheck, readDockerfile } from './lib/dockerfile.js';

const missing = composeBinary === null;
if (missing)
  console.warn(
    'test/ship/compose: docker-compose is not installed (apt-get install docker-compose; .ci/run does), so these checks are skipped',
  );

describe.skipIf(missing)('docker-compose.yml', { timeout: 30_000 }, () => {
  const projects: ComposeProject[] = [];
  const project = (files?: Parameters<typeof createProject>[0]) => {
    const p = createProject(files);
    projects.push(p);
    return p;
  };
  afterEach(() => {
    for (const p of projects.splice(0)) p.remove();
  });

  const ferry = (p: ComposeProject): ComposeService => {
    const service = p.resolved().services.ferry;
    if (!service) throw new Error('no service "ferry"');
    return service;
  };

  it('parses (`docker-compose config -q`) once .env sets FERRY_PASV_ADDRESS', () => {
    const r = project({ env: filledEnv() }).run(['config', '-q']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('stops with a pointer to .env.example while FERRY_PASV_ADDRESS is empty', () => {
    const r = project().run(['config', '-q']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/FERRY_PASV_ADDRESS.*\.env\.example/);
  });

  it('publishes the passive range with the same numbers inside and out, equal to FERRY_PASV_PORTS', () => {
    const service = ferry(project({ env: filledEnv() }));
    const range = String(service.environment?.FERRY_PASV_PORTS);
    const passive = expandRange(range);
    expect(passive.length).toBeGreaterThan(0);
    expect(passive.length).toBeLessThanOrEqual(100); // Docker publishes (and proxies) each port on its own
    const published = (service.ports ?? []).filter((p) => passive.includes(p.target));
    expect(published.map((p) => p.target)).toEqual(passive);
    expect(published.map((p) => Number(p.published))).toEqual(passive);
    // the image's own default and EXPOSE agree, so `docker run -P` behaves the same
    const runtime = finalStage(readDockerfile(path.join(repoRoot, 'Dockerfile')));
    expect(envOf(runtime).FERRY_PASV_PORTS).toBe(range);
    expect(runtime.instructions.find((i) => i.keyword === 'EXPOSE')?.args.split(/\s+/)).toContain(range);
  });

  it('maps host port 21 to FERRY_FTP_PORT and the admin port to FERRY_HTTP_PORT', () => {
    const service = ferry(project({ env: filledEnv() }));
    const target = (published: number) => service.ports?.find((p) => Number(p.published) === published)?.target;
    expect(target(21)).toBe(Number(service.environment?.FERRY_FTP_PORT));
    expect(target(8080)).toBe(Number(service.environment?.FERRY_HTTP_PORT));
    expect(service.environment?.FERRY_DATA_DIR).toBe('/data');
    expect(service.environment?.FERRY_PASV_ADDRESS).toBe('203.0.113.10');
  });

  it('keeps /data in a named volume, restarts unless stopped and checks health like the image', () => {
    const p = project({ env: filledEnv() });
    const config = p.resolved();
    const service = config.services.ferry!;
    expect(service.image).toBe('ferry:latest');
    expect(service.build?.context).toBe(p.dir);
    expect(service.restart).toBe('unless-stopped');
    const data = service.volumes?.find((v) => v.split(':')[1] === '/data');
    expect(data?.split(':')[0]).toBe('ferry-data');
    expect(Object.keys(config.volumes ?? {})).toContain('ferry-data');
    const image = healthcheck(finalStage(readDockerfile(path.join(repoRoot, 'Dockerfile'))));
    expect(service.healthcheck?.test).toEqual(['CMD', ...(image?.command ?? [])]);
  });

  it('passes uncommented .env lines to the container, and leaves commented ones to Ferry', () => {
    const env = ferry(project({ env: filledEnv() })).environment ?? {};
    expect(env.FERRY_ADMIN_USER).toBe('admin');
    expect(env).not.toHaveProperty('FERRY_ADMIN_PASSWORD'); // unset: Ferry generates one and logs it once
    expect(env).not.toHaveProperty('FERRY_TLS_CERT');
    // the compose file wins over .env for the variables the published ports depend on
    const overridden = ferry(project({ env: `${filledEnv()}\nFERRY_PASV_PORTS=40000-40010\nFERRY_FTP_PORT=21\n` })).environment ?? {};
    expect(overridden.FERRY_PASV_PORTS).toBe('50000-50019');
    expect(Number(overridden.FERRY_FTP_PORT)).toBe(2121);
  });

  it('enables implicit FTPS on 990 when its commented lines are uncommented', () => {
    const text = readRepoFile('docker-compose.yml');
    const enabled = text
      .replace(/^(\s*)# (FERRY_FTPS_PORT: 990)$/m, '$1$2')
      .replace(/^(\s*)# (- "990:990")/m, '$1$2')
      .replace(/^(\s*)# (- \.\/certs:\/certs:ro)/m, '$1$2');
    expect(enabled.split('\n').filter((l, i) => l !== text.split('\n')[i])).toHaveLength(3);
    const service = ferry(project({ compose: enabled, env: filledEnv() }));
    expect(Number(service.environment?.FERRY_FTPS_PORT)).toBe(990);
    expect(service.ports).toContainEqual(expect.objectContaining({ published: 990, target: 990 }));
    expect(service.volumes?.some((v) => v.endsWith(':/certs:ro'))).toBe(true);
  });
});

describe('.env.example', () => {
  const text = readRepoFile('.env.example');
  const settings = text.split('\n').filter((l) => /^#?\s?FERRY_\w+=/.test(l));

  it('documents every setting it shows with a comment just above it', () => {
    const lines = text.split('\n');
    for (const setting of settings) {
      let i = lines.indexOf(setting) - 1;
      while (i >= 0 && /^#\s?FERRY_\w+=/.test(lines[i]!)) i--; // a group of settings shares one comment
      expect(lines[i], `comment above ${setting}`).toMatch(/^# \S/);
    }
    expect(settings.length).toBeGreaterThanOrEqual(5);
  });

  it('uses no quotes (docker-compose 1.x env_file would pass them on)', () => {
    for (const setting of settings) expect(setting).not.toMatch(/=\s*["']/);
  });
});
