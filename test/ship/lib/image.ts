/**
 * "Build the image" without an engine: replay the Dockerfile's build stage in a temporary folder,
 * with a chosen `node` first on PATH. COPY copies from the build context (.dockerignore applied),
 * RUN runs the same command (shell or exec form), /out is a temporary folder. Provisioning lines
 * (apt-get, `npm install -g pnpm@…`) are not replayed: the machine provides the tools, and the
 * pnpm version is checked against the Dockerfile's.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { listContext, repoRoot } from './context.js';
import { execForm, readDockerfile, stage, type Dockerfile } from './dockerfile.js';

export interface ImageBuild {
  /** What the runtime stage's `COPY --from=build /out /app` copies: Ferry's /app. */
  app: string;
  /** Everything that was run, with timings, for failure messages. */
  log: string[];
  /** Removes the temporary folders. */
  remove(): void;
}

export interface BuildOptions {
  /** The node binary to build with (its folder goes first on PATH). */
  node: string;
  /** Stop the whole build after this long. */
  timeoutMs: number;
  dockerfile?: Dockerfile;
}

const PROVISIONING = [/^apt-get\b/, /^npm install -g pnpm@/];

export async function buildLikeImage(opts: BuildOptions): Promise<ImageBuild> {
  const df = opts.dockerfile ?? readDockerfile(path.join(repoRoot, 'Dockerfile'));
  const build = stage(df, 'build');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'ferry-image-'));
  const src = path.join(tmp, 'src'); // the build stage's WORKDIR
  const out = path.join(tmp, 'out'); // its /out
  mkdirSync(src);
  const context = listContext();
  const log: string[] = [];
  const deadline = Date.now() + opts.timeoutMs;
  const env = {
    ...process.env,
    PATH: `${path.dirname(opts.node)}${path.delimiter}${process.env.PATH ?? ''}`,
    CI: 'true', // pnpm: no interactive prompts, append-only output
  };
  checkPnpmVersion(build.instructions.map((i) => i.args), env);

  try {
    for (const ins of build.instructions) {
      if (ins.keyword === 'WORKDIR' || ins.keyword === 'ENV' || ins.keyword === 'ARG') {
        if (ins.keyword !== 'WORKDIR') throw new Error(`line ${ins.line}: ${ins.keyword} in the build stage is not replayed yet`);
        continue;
      }
      if (ins.keyword === 'COPY') {
        const parts = ins.args.split(/\s+/);
        if (parts.some((p) => p.startsWith('--'))) throw new Error(`line ${ins.line}: COPY options are not replayed`);
        const sources = parts.slice(0, -1);
        for (const source of sources) {
          const files = source === '.' ? context : context.filter((f) => f === source);
          if (files.length === 0) throw new Error(`line ${ins.line}: ${source} is not in the build context`);
          for (const rel of files) copyFile(rel, src);
        }
        log.push(`COPY ${ins.args}`);
        continue;
      }
      if (ins.keyword !== 'RUN') throw new Error(`line ${ins.line}: ${ins.keyword} in the build stage is not replayed`);
      const argv = ins.args.startsWith('[') ? execForm(ins.args) : ['/bin/sh', '-c', ins.args];
      if (argv[0] === '/bin/sh' && PROVISIONING.some((re) => re.test(ins.args))) {
        log.push(`(provisioning, not replayed) RUN ${ins.args}`);
        continue;
      }
      const started = Date.now();
      const output = await run(argv.map((a) => (a === '/out' ? out : a.replaceAll(' /out', ` ${out}`))), src, env, deadline - Date.now());
      log.push(`RUN ${ins.args} (${((Date.now() - started) / 1000).toFixed(1)} s)`, output.slice(-4000));
    }
    statSync(path.join(out, 'apps/server/dist/main.js'));
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`${(error as Error).message}\n--- build log ---\n${log.join('\n')}`);
  }
  return { app: out, log, remove: () => rmSync(tmp, { recursive: true, force: true }) };
}

/** Copies one context file; one deleted since the listing (a working tree in use) is left out, as Docker would. */
function copyFile(rel: string, dest: string): void {
  mkdirSync(path.dirname(path.join(dest, rel)), { recursive: true });
  try {
    cpSync(path.join(repoRoot, rel), path.join(dest, rel), { preserveTimestamps: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

function checkPnpmVersion(runs: string[], env: NodeJS.ProcessEnv): void {
  const wanted = runs.map((r) => /^npm install -g pnpm@(\S+)$/.exec(r)?.[1]).find(Boolean);
  const have = execFileSync('pnpm', ['--version'], { env, encoding: 'utf8', timeout: 20_000 }).trim();
  if (wanted !== have) throw new Error(`the Dockerfile installs pnpm ${wanted ?? '(none)'}, this machine has ${have}`);
}

/** Runs a command to completion within `timeoutMs`, killing its whole process group on timeout. */
function run(argv: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    if (timeoutMs <= 0) return reject(new Error(`no time left for ${argv.join(' ')}`));
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-200_000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${argv.join(' ')} failed (${signal ?? `exit ${code}`}):\n${output.slice(-6000)}`));
    });
  });
}
