/**
 * Ferry's command line: `ferry [command] [options]`, parsed with node:util's parseArgs. Without a command Ferry
 * starts (`serve`). Configuration still comes from environment variables; the help lists them from
 * CONFIG_VARIABLES, like the README's table. Parsing reads nothing and touches no file.
 */
import { parseArgs as parseTokens } from 'node:util';
import { CONFIG_VARIABLES } from './config.js';

export type CliCommand =
  | { kind: 'serve' }
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'check-config' }
  | { kind: 'admin-reset-password'; username: string }
  | { kind: 'admin-disable-2fa'; username: string }
  | { kind: 'backup'; file: string; force: boolean }
  | { kind: 'restore'; file: string }
  | { kind: 'migrate-db'; to: string }
  /** A command line Ferry does not understand: the message, then the usage on stderr, exit code 2. */
  | { kind: 'error'; message: string };

/** The options given with a command (each command takes only those its `options` names). */
interface GivenOptions {
  force: boolean;
  /** `--to <postgres-url>`, or null. */
  to: string | null;
}

interface CommandSpec {
  /** The words that name the command, e.g. `admin reset-password`. */
  name: string;
  /** Its positional arguments, in order; every one is required. */
  args: readonly string[];
  /** As the usage shows them: `[--force]` may be given, `--to <postgres-url>` must be. */
  options?: string;
  summary: string;
  build(args: readonly string[], options: GivenOptions): CliCommand;
}

/** What loadConfig accepts in FERRY_DATABASE_URL. */
const POSTGRES_URL = /^postgres(ql)?:\/\/[^\s]+$/;

/** Every command: the parser and the usage both come from this list. */
const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'serve',
    args: [],
    summary: 'Start the FTP server and the admin site (the default without a command); runs until SIGTERM or SIGINT.',
    build: () => ({ kind: 'serve' }),
  },
  {
    name: 'admin reset-password',
    args: ['name'],
    summary:
      'Print a new generated password for the admin and sign out their browser sessions (API tokens and two-factor sign-in stay). Works while Ferry runs or is stopped.',
    build: ([username]) => ({ kind: 'admin-reset-password', username: username! }),
  },
  {
    name: 'admin disable-2fa',
    args: ['name'],
    summary:
      "Turn the admin's two-factor sign-in off and delete their recovery codes (a lost phone). Works while Ferry runs or is stopped.",
    build: ([username]) => ({ kind: 'admin-disable-2fa', username: username! }),
  },
  {
    name: 'check-config',
    args: [],
    summary: 'Check the FERRY_* variables exactly as start-up does and print a summary; exit 1 naming a bad variable.',
    build: () => ({ kind: 'check-config' }),
  },
  {
    name: 'backup',
    args: ['file'],
    options: '[--force]',
    summary:
      'Copy the database into <file> while Ferry runs (a consistent snapshot, integrity-checked). An existing <file> is kept unless --force.',
    build: ([file], { force }) => ({ kind: 'backup', file: file!, force }),
  },
  {
    name: 'restore',
    args: ['file'],
    summary:
      'Put a backup in place of the database, only while Ferry is stopped. The current database is kept as ferry.db.before-restore-<time>; the next start upgrades an older backup.',
    build: ([file]) => ({ kind: 'restore', file: file! }),
  },
  {
    name: 'migrate-db',
    args: [],
    options: '--to <postgres-url>',
    summary:
      "Copy the data folder's SQLite database into an empty PostgreSQL database (all or nothing), only while Ferry is stopped; then start Ferry with FERRY_DATABASE_URL set to it. ferry.db stays as it is.",
    build: (_, { to }) => {
      if (to === null) return { kind: 'error', message: "'migrate-db' needs --to <postgres-url>: ferry migrate-db --to <postgres-url>" };
      // The URL itself is not repeated: it may hold a password.
      if (!POSTGRES_URL.test(to)) {
        return { kind: 'error', message: "'--to' must be a PostgreSQL URL like postgres://user:password@host:5432/database" };
      }
      return { kind: 'migrate-db', to };
    },
  },
  { name: 'help', args: [], summary: 'Print this help.', build: () => ({ kind: 'help' }) },
];

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  force: { type: 'boolean' },
  to: { type: 'string' },
} as const;

/** Reads process.argv.slice(2). Unknown commands and options, and missing or extra arguments, are errors. */
export function parseArgs(args: readonly string[]): CliCommand {
  const { tokens } = parseTokens({ args: [...args], options: OPTIONS, allowPositionals: true, strict: false, tokens: true });
  const words: string[] = [];
  let help = false;
  let version = false;
  let force = false;
  let to: string | null = null;
  for (const token of tokens) {
    if (token.kind === 'positional') words.push(token.value);
    if (token.kind !== 'option') continue;
    if (!(token.name in OPTIONS)) return { kind: 'error', message: `unknown option '${token.rawName}'` };
    if (token.name === 'to') {
      if (token.value === undefined) return { kind: 'error', message: "option '--to' needs a value: --to <postgres-url>" };
      to = token.value;
      continue;
    }
    if (token.value !== undefined) return { kind: 'error', message: `option '${token.rawName}' takes no value` };
    if (token.name === 'help') help = true;
    if (token.name === 'version') version = true;
    if (token.name === 'force') force = true;
  }
  if (help) return { kind: 'help' };
  if (version) return { kind: 'version' };
  const misplaced = (spec: CommandSpec | undefined): CliCommand | null => {
    if (force && spec?.options?.includes('--force') !== true) return { kind: 'error', message: "'--force' only applies to backup" };
    if (to !== null && spec?.options?.includes('--to') !== true) return { kind: 'error', message: "'--to' only applies to migrate-db" };
    return null;
  };
  if (words.length === 0) return misplaced(undefined) ?? { kind: 'serve' };

  const [first = '', second] = words;
  const spec = COMMANDS.find((c) => c.name === first) ?? COMMANDS.find((c) => c.name === `${first} ${second}`);
  if (!spec) {
    if (first === 'admin') {
      const subcommands = COMMANDS.filter((c) => c.name.startsWith('admin ')).map((c) => c.name.slice('admin '.length));
      return {
        kind: 'error',
        message:
          second === undefined
            ? `'admin' needs a subcommand: ${subcommands.join(' or ')}`
            : `unknown admin subcommand '${second}' (there are ${subcommands.join(' and ')})`,
      };
    }
    return { kind: 'error', message: `unknown command '${first}'` };
  }
  const given = words.slice(spec.name.split(' ').length);
  if (given.length < spec.args.length) {
    const missing = spec.args.slice(given.length).map((a) => `<${a}>`);
    return { kind: 'error', message: `'${spec.name}' needs ${missing.join(' ')}: ferry ${synopsisOf(spec)}` };
  }
  if (given.length > spec.args.length)
    return { kind: 'error', message: `unexpected argument '${given[spec.args.length]}' after '${spec.name}'` };
  return misplaced(spec) ?? spec.build(given, { force, to });
}

const synopsisOf = (c: CommandSpec) => [c.name, ...c.args.map((a) => `<${a}>`), ...(c.options ? [c.options] : [])].join(' ');

/** How Ferry is run where no `ferry` command is installed (the Dockerfile's CMD and `pnpm start` run this). */
const NODE_FORM = 'node apps/server/dist/main.js';
const WIDTH = 100;
const COLUMN = 32;

/** The commands and options: after an error on stderr, and at the top of the help. */
export function usageText(): string {
  const lines = [
    'Usage: ferry [command] [options]',
    `       (from Ferry's folder or in its container: ${NODE_FORM} [command] [options])`,
    '',
    'Commands:',
  ];
  for (const c of COMMANDS) {
    const synopsis = synopsisOf(c);
    const summary = wrap(c.summary, WIDTH - COLUMN);
    lines.push(`  ${synopsis.padEnd(COLUMN - 2)}${synopsis.length > COLUMN - 3 ? `\n${' '.repeat(COLUMN)}` : ''}${summary[0] ?? ''}`);
    lines.push(...summary.slice(1).map((line) => `${' '.repeat(COLUMN)}${line}`));
  }
  lines.push(
    '',
    'Options:',
    `  ${'-h, --help'.padEnd(COLUMN - 2)}print this help and exit`,
    `  ${'--version'.padEnd(COLUMN - 2)}print the version and exit`,
    '',
    'Exit codes: 0 done; 1 the command failed (the message says why); 2 the command line is wrong.',
  );
  return `${lines.join('\n')}\n`;
}

/** Printed after an error: the usage and where the rest is. */
export function errorText(message: string): string {
  return `ferry: ${message}\n\n${usageText()}Run 'ferry --help' for the configuration variables too.\n`;
}

export function helpText(version: string): string {
  const lines = [
    `Ferry ${version}: an FTP server administered from a browser.`,
    '',
    usageText(),
    'Configuration comes from these environment variables, read once at start-up (the commands read the same',
    'ones: they find the database through FERRY_DATA_DIR). An invalid value stops start-up with a message naming',
    'the variable. Settings that can change while Ferry runs are edited in the admin site; a variable that',
    '"fixes the setting" overrides the value edited there.',
    '',
  ];
  for (const v of CONFIG_VARIABLES) {
    lines.push(`  ${v.name}${v.default === '(unset)' ? '  (unset by default)' : `  (default: ${v.default})`}`);
    lines.push(...wrap(v.description.replaceAll('`', ''), WIDTH - 6).map((line) => `      ${line}`));
  }
  return `${lines.join('\n')}\n`;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}
