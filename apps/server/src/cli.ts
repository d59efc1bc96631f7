/**
 * Command-line arguments of main.js. Ferry is configured by environment variables; the command line only asks
 * for help or the version. The variable list in the help comes from CONFIG_VARIABLES, like the README's table.
 */
import { CONFIG_VARIABLES } from './config.js';

export type CliCommand = { kind: 'start' } | { kind: 'help' } | { kind: 'version' } | { kind: 'error'; message: string };

/** How the server is started (the Dockerfile's CMD and `pnpm start` both run this). */
const COMMAND = 'node apps/server/dist/main.js';
const WIDTH = 100;

/** Reads process.argv.slice(2): no argument starts Ferry; the first unknown argument is an error. */
export function parseArgs(args: readonly string[]): CliCommand {
  let command: CliCommand = { kind: 'start' };
  for (const arg of args) {
    if (arg === '-h' || arg === '--help') return { kind: 'help' };
    if (arg === '--version') command = { kind: 'version' };
    else return { kind: 'error', message: `unknown argument '${arg}'` };
  }
  return command;
}

/** The one-line pointer printed after an argument error. */
export const USAGE_HINT = `Usage: ${COMMAND} [--help | --version]  (--help lists the configuration variables)`;

export function helpText(version: string): string {
  const lines = [
    `Ferry ${version}: an FTP server administered from a browser.`,
    '',
    `Usage: ${COMMAND} [--help | --version]`,
    '',
    'Without arguments, starts the FTP server and the admin site and runs until SIGTERM or SIGINT.',
    '',
    'Options:',
    '  -h, --help   print this help and exit',
    '  --version    print the version and exit',
    '',
    'Configuration comes from these environment variables, read once at start-up; an invalid value stops',
    'start-up with a message naming the variable. Settings that can change while Ferry runs are edited in',
    'the admin site; a variable that "fixes the setting" overrides the value edited there.',
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
