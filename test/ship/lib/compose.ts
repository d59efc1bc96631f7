/**
 * docker-compose.yml checked by Debian's docker-compose (1.29, no engine needed for `config`), in a
 * temporary project folder holding the compose file and an .env made from .env.example.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './context.js';

export const composeBinary = findOnPath('docker-compose');

function findOnPath(name: string): string | null {
  const result = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8', timeout: 5_000 });
  return result.status === 0 ? result.stdout.trim() : null;
}

export interface ComposeProject {
  dir: string;
  /** `docker-compose <args>` in the project folder, with no FERRY_* variables from this process. */
  run(args: string[]): { status: number | null; stdout: string; stderr: string };
  /** The resolved configuration (`docker-compose config`) as JSON, parsed by docker-compose's own PyYAML. */
  resolved(): ComposeConfig;
  remove(): void;
}

export interface ComposeService {
  networks?: Record<string, { ipv4_address?: string } | null>;
  depends_on?: Record<string, unknown> | string[];
  environment?: Record<string, string | number>;
  ports?: { published: number | string; target: number; protocol?: string }[];
  volumes?: string[];
  restart?: string;
  healthcheck?: { test: string[]; interval?: string; timeout?: string; retries?: number; start_period?: string };
  image?: string;
  build?: { context: string };
}

export interface ComposeConfig {
  services: Record<string, ComposeService>;
  networks?: Record<string, { ipam?: { config?: { subnet?: string }[] } }>;
  volumes?: Record<string, unknown>;
}

export interface ProjectFiles {
  /** Text of docker-compose.yml; the repository's by default. */
  compose?: string;
  /** Text of .env; .env.example by default. */
  env?: string;
  /** More files of the project folder, by name. */
  extra?: Record<string, string>;
}

export function createProject(files: ProjectFiles = {}): ComposeProject {
  if (!composeBinary) throw new Error('docker-compose is not installed');
  const binary = composeBinary;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ferry-compose-'));
  writeFileSync(path.join(dir, 'docker-compose.yml'), files.compose ?? readRepoFile('docker-compose.yml'));
  writeFileSync(path.join(dir, '.env'), files.env ?? readRepoFile('.env.example'));
  for (const [name, text] of Object.entries(files.extra ?? {})) writeFileSync(path.join(dir, name), text);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FERRY_') && !k.startsWith('COMPOSE_')));
  const run = (args: string[]) => {
    const r = spawnSync(binary, ['-f', 'docker-compose.yml', ...args], { cwd: dir, env, encoding: 'utf8', timeout: 30_000 });
    if (r.error) throw r.error;
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  return {
    dir,
    run,
    resolved() {
      const r = run(['config']);
      if (r.status !== 0) throw new Error(`docker-compose config failed:\n${r.stderr}`);
      const py = spawnSync('python3', ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'], {
        input: r.stdout,
        encoding: 'utf8',
        timeout: 10_000,
      });
      if (py.status !== 0) throw new Error(`cannot read the resolved configuration:\n${py.stderr}`);
      return JSON.parse(py.stdout) as ComposeConfig;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function readRepoFile(rel: string): string {
  return readFileSync(path.join(repoRoot, rel), 'utf8');
}

/** .env.example with the required settings filled in, as an operator would. */
export function filledEnv(pasvAddress = '203.0.113.10'): string {
  const example = readRepoFile('.env.example');
  if (!/^FERRY_PASV_ADDRESS=$/m.test(example)) throw new Error('.env.example has no empty FERRY_PASV_ADDRESS= line');
  return example.replace(/^FERRY_PASV_ADDRESS=$/m, `FERRY_PASV_ADDRESS=${pasvAddress}`);
}

/** `50000-50019` → [50000, ..., 50019]. */
export function expandRange(range: string): number[] {
  const match = /^(\d+)-(\d+)$/.exec(range.trim());
  if (!match) throw new Error(`not a port range: ${range}`);
  const [min, max] = [Number(match[1]), Number(match[2])];
  return Array.from({ length: max - min + 1 }, (_, i) => min + i);
}
