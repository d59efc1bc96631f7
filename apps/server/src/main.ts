#!/usr/bin/env node
/**
 * Ferry's entry point. The command line comes first (cli.ts): --help and --version print and exit before any
 * configuration is read, any file is created or the server's modules are loaded. Without arguments, start.ts starts Ferry.
 */
import { readFileSync } from 'node:fs';
import { helpText, parseArgs, USAGE_HINT } from './cli.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

async function main(): Promise<void> {
  const command = parseArgs(process.argv.slice(2));
  switch (command.kind) {
    case 'help':
      process.stdout.write(helpText(VERSION));
      return;
    case 'version':
      process.stdout.write(`${VERSION}\n`);
      return;
    case 'error':
      process.stderr.write(`ferry: ${command.message}\n${USAGE_HINT}\n`);
      process.exitCode = 2;
      return;
    case 'start': {
      const { start } = await import('./start.js');
      await start(VERSION);
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`ferry: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
