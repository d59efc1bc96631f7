/**
 * A small Dockerfile reader: enough to check the image's structure and to run its own build and start
 * commands outside Docker. Handles comments, `\` continuations, `ARG` defaults used in `FROM`, JSON
 * (exec) forms and `KEY=value` ENV pairs; not a full BuildKit parser.
 */
import { readFileSync } from 'node:fs';

export interface Instruction {
  keyword: string; // upper case: FROM, RUN, ENV, ...
  args: string; // the rest of the instruction, continuations joined with a space
  line: number; // 1-based line of the keyword
}

export interface Stage {
  name: string | null;
  image: string; // the FROM image after substituting global ARG defaults
  instructions: Instruction[];
}

export interface Dockerfile {
  globalArgs: Record<string, string>;
  stages: Stage[];
}

export function readDockerfile(file: string): Dockerfile {
  return parseDockerfile(readFileSync(file, 'utf8'));
}

export function parseDockerfile(text: string): Dockerfile {
  const instructions = splitInstructions(text);
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!match?.[1]) throw new Error(`line ${ins.line}: cannot read FROM ${ins.args}`);
      const image = match[1].replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a?: string, b?: string) => globalArgs[(a ?? b)!] ?? '');
      stages.push({ name: match[2] ?? null, image, instructions: [] });
    } else if (stages.length === 0) {
      if (ins.keyword !== 'ARG') throw new Error(`line ${ins.line}: ${ins.keyword} before the first FROM`);
      const [name, value = ''] = ins.args.split('=', 2);
      globalArgs[name!.trim()] = value.trim();
    } else {
      stages.at(-1)!.instructions.push(ins);
    }
  }
  return { globalArgs, stages };
}

function splitInstructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let current: Instruction | null = null;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const trimmed = raw.trim();
    if (trimmed.startsWith('#')) return; // comments (and parser directives) may sit inside continuations
    if (current === null) {
      if (trimmed === '') return;
      const match = /^(\w+)\s*(.*)$/.exec(trimmed);
      if (!match) throw new Error(`line ${index + 1}: cannot read "${trimmed}"`);
      current = { keyword: match[1]!.toUpperCase(), args: '', line: index + 1 };
      raw = match[2]!;
    }
    const continued = /\\\s*$/.test(raw);
    const part = raw.replace(/\\\s*$/, '').trim();
    current.args = current.args === '' ? part : part === '' ? current.args : `${current.args} ${part}`;
    if (!continued) {
      out.push(current);
      current = null;
    }
  });
  if (current !== null) out.push(current);
  return out;
}

export function stage(df: Dockerfile, name: string): Stage {
  const found = df.stages.find((s) => s.name === name);
  if (!found) throw new Error(`Dockerfile has no stage "${name}"`);
  return found;
}

export function finalStage(df: Dockerfile): Stage {
  const last = df.stages.at(-1);
  if (!last) throw new Error('Dockerfile has no FROM');
  return last;
}

export function all(s: Stage, keyword: string): Instruction[] {
  return s.instructions.filter((i) => i.keyword === keyword);
}

/** The last instruction of that kind in the stage (the one Docker uses for CMD, USER, WORKDIR, ...). */
export function last(s: Stage, keyword: string): Instruction | undefined {
  return all(s, keyword).at(-1);
}

/** An exec-form argument list (`["node", "main.js"]`); throws on the shell form. */
export function execForm(args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error(`not an exec form: ${args}`);
  return parsed;
}

/** ENV pairs of a stage, in order (`KEY=value` forms only). */
export function envOf(s: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const ins of all(s, 'ENV')) {
    for (const match of ins.args.matchAll(/(\w+)=("[^"]*"|\S*)/g)) env[match[1]!] = match[2]!.replace(/^"|"$/g, '');
  }
  return env;
}

/** ARG defaults declared inside a stage. */
export function argsOf(s: Stage): Record<string, string> {
  const args: Record<string, string> = {};
  for (const ins of all(s, 'ARG')) {
    const [name, value = ''] = ins.args.split('=', 2);
    args[name!.trim()] = value.trim();
  }
  return args;
}

/** HEALTHCHECK options and its exec-form command. */
export function healthcheck(s: Stage): { options: Record<string, string>; command: string[] } | null {
  const ins = last(s, 'HEALTHCHECK');
  if (!ins) return null;
  const match = /^((?:--\w[\w-]*=\S+\s+)*)CMD\s+(.*)$/.exec(ins.args);
  if (!match) throw new Error(`line ${ins.line}: HEALTHCHECK without CMD`);
  const options: Record<string, string> = {};
  for (const opt of match[1]!.matchAll(/--([\w-]+)=(\S+)/g)) options[opt[1]!] = opt[2]!;
  return { options, command: execForm(match[2]!) };
}
