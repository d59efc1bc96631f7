#!/usr/bin/env node
/**
 * Ferry's entry point and command line (cli.ts parses it). `--help`, `--version` and argument errors print and exit
 * before any configuration is read, any file is created or the server's modules are loaded. Without a command,
 * or with `serve`, start.ts starts Ferry; the other commands are loaded from commands/ only when asked for.
 *
 * Exit codes: 0 done, 1 the command failed (the message says why), 2 the command line is wrong.
 */
import { readFileSync } from 'node:fs';
import { errorText, helpText, parseArgs, type CliCommand } from './cli.js';
import type { CommandIo } from './commands/io.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const io: CommandIo = {
  env: process.env,
  cwd: process.cwd(),
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

async function run(command: CliCommand): Promise<void> {
  switch (command.kind) {
    case 'help':
      process.stdout.write(helpText(VERSION));
      return;
    case 'version':
      process.stdout.write(`${VERSION}\n`);
      return;
    case 'error':
      process.stderr.write(errorText(command.message));
      process.exitCode = 2;
      return;
    case 'serve': {
      const { start } = await import('./start.js');
      await start(VERSION);
      return;
    }
    case 'check-config':
      (await import('./commands/check-config.js')).checkConfig(io);
      return;
    case 'admin-reset-password':
      await (await import('./commands/admin.js')).resetPassword(io, command.username);
      return;
    case 'admin-disable-2fa':
      await (await import('./commands/admin.js')).disableTwoFactor(io, command.username);
      return;
    case 'backup':
      await (await import('./commands/backup.js')).backup(io, command.file, command.force);
      return;
    case 'restore':
      await (await import('./commands/backup.js')).restore(io, command.file);
      return;
    case 'migrate-db':
      await (await import('./commands/migrate-db.js')).migrateDb(io, command.to);
      return;
  }
}

const command = parseArgs(process.argv.slice(2));
run(command).catch(async (err: unknown) => {
  const { CommandFailure } = await import('./commands/io.js');
  if (err instanceof CommandFailure) {
    process.stderr.write(`ferry: ${err.message}\n`);
    process.exitCode = 1;
    return;
  }
  const what = command.kind === 'serve' ? 'failed to start' : `${command.kind} failed`;
  process.stderr.write(`ferry: ${what}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
