/**
 * The command line's parser and texts (cli.ts), without a process: every command with its arguments, the options,
 * and the errors that exit 2. test/cli/ runs the built main.js for real.
 */
import { describe, expect, it } from 'vitest';
import { errorText, helpText, parseArgs, usageText, type CliCommand } from '../src/cli.js';
import { CONFIG_VARIABLES } from '../src/config.js';

describe('parseArgs', () => {
  it.for<[string[], CliCommand]>([
    [[], { kind: 'serve' }],
    [['serve'], { kind: 'serve' }],
    [['help'], { kind: 'help' }],
    [['--help'], { kind: 'help' }],
    [['-h'], { kind: 'help' }],
    [['backup', '--help'], { kind: 'help' }],
    [['admin', '-h'], { kind: 'help' }],
    [['--version'], { kind: 'version' }],
    [['check-config'], { kind: 'check-config' }],
    [['admin', 'reset-password', 'alice'], { kind: 'admin-reset-password', username: 'alice' }],
    [['admin', 'disable-2fa', 'bob.smith@example.com'], { kind: 'admin-disable-2fa', username: 'bob.smith@example.com' }],
    [['backup', 'ferry-2026-12-05.db'], { kind: 'backup', file: 'ferry-2026-12-05.db', force: false }],
    [['backup', '/backups/ferry.db', '--force'], { kind: 'backup', file: '/backups/ferry.db', force: true }],
    [['backup', '--force', 'x.db'], { kind: 'backup', file: 'x.db', force: true }],
    [['backup', '--', '--odd-name.db'], { kind: 'backup', file: '--odd-name.db', force: false }],
    [['restore', 'ferry-2026-12-05.db'], { kind: 'restore', file: 'ferry-2026-12-05.db' }],
    [['migrate-db', '--to', 'postgres://ferry:pw@db:5432/ferry'], { kind: 'migrate-db', to: 'postgres://ferry:pw@db:5432/ferry' }],
    [['--to=postgresql://db/ferry', 'migrate-db'], { kind: 'migrate-db', to: 'postgresql://db/ferry' }],
  ])('%j → %j', ([args, expected]) => {
    expect(parseArgs(args)).toEqual(expected);
  });

  it.for<[string[], string]>([
    [['bogus'], "unknown command 'bogus'"],
    [['--bogus'], "unknown option '--bogus'"],
    [['-x'], "unknown option '-x'"],
    [['--version', '-x'], "unknown option '-x'"],
    [['backup', 'x.db', '--forse'], "unknown option '--forse'"],
    [['--help=yes'], "option '--help' takes no value"],
    [['admin'], "'admin' needs a subcommand: reset-password or disable-2fa"],
    [['admin', 'delete', 'alice'], "unknown admin subcommand 'delete' (there are reset-password and disable-2fa)"],
    [['admin', 'reset-password'], "'admin reset-password' needs <name>: ferry admin reset-password <name>"],
    [['admin', 'disable-2fa'], "'admin disable-2fa' needs <name>: ferry admin disable-2fa <name>"],
    [['backup'], "'backup' needs <file>: ferry backup <file> [--force]"],
    [['restore'], "'restore' needs <file>: ferry restore <file>"],
    [['admin', 'reset-password', 'alice', 'bob'], "unexpected argument 'bob' after 'admin reset-password'"],
    [['check-config', 'now'], "unexpected argument 'now' after 'check-config'"],
    [['serve', 'now'], "unexpected argument 'now' after 'serve'"],
    [['restore', 'x.db', '--force'], "'--force' only applies to backup"],
    [['--force'], "'--force' only applies to backup"],
    [['migrate-db'], "'migrate-db' needs --to <postgres-url>: ferry migrate-db --to <postgres-url>"],
    [['migrate-db', '--to'], "option '--to' needs a value: --to <postgres-url>"],
    [
      ['migrate-db', '--to', 'mysql://root:secret@db/ferry'],
      "'--to' must be a PostgreSQL URL like postgres://user:password@host:5432/database",
    ],
    [['migrate-db', '--to', 'postgres://db/ferry', '--force'], "'--force' only applies to backup"],
    [['migrate-db', 'now', '--to', 'postgres://db/ferry'], "unexpected argument 'now' after 'migrate-db'"],
    [['backup', 'x.db', '--to', 'postgres://db/ferry'], "'--to' only applies to migrate-db"],
    [['--to', 'postgres://db/ferry'], "'--to' only applies to migrate-db"],
  ])('%j is an error: %s', ([args, message]) => {
    expect(parseArgs(args)).toEqual({ kind: 'error', message });
  });
});

describe('texts', () => {
  it('the usage lists every command and the exit codes', () => {
    const usage = usageText();
    for (const synopsis of [
      'serve',
      'admin reset-password <name>',
      'admin disable-2fa <name>',
      'check-config',
      'backup <file> [--force]',
      'restore <file>',
      'help',
      '-h, --help',
      '--version',
    ]) {
      expect(usage).toMatch(new RegExp(`^  ${synopsis.replace(/[[\]]/g, '\\$&')} `, 'm'));
    }
    // Too long for the column: its summary starts on the next line.
    expect(usage).toMatch(/^ {2}migrate-db --to <postgres-url>\n {32}Copy the data folder's SQLite database into an empty PostgreSQL/m);
    expect(usage).toContain('Usage: ferry [command] [options]');
    expect(usage).toContain('node apps/server/dist/main.js [command] [options]');
    expect(usage).toContain('Exit codes: 0 done; 1 the command failed');
    expect(Math.max(...usage.split('\n').map((l) => l.length))).toBeLessThanOrEqual(100);
  });

  it('the help adds every configuration variable; an error names the problem above the usage', () => {
    const help = helpText('1.2.3');
    expect(help).toMatch(/^Ferry 1\.2\.3: /);
    expect(help).toContain(usageText());
    for (const v of CONFIG_VARIABLES) {
      expect(help).toContain(`  ${v.name}  ${v.default === '(unset)' ? '(unset by default)' : `(default: ${v.default})`}\n`);
    }
    expect(help).not.toContain('`');
    const error = errorText("unknown command 'bogus'");
    expect(error).toMatch(/^ferry: unknown command 'bogus'\n\nUsage: ferry/);
    expect(error).not.toContain('FERRY_DATA_DIR');
  });
});
