// One benchmark run at a time: runs share fixed passive port ranges and the bench system account.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alive } from '../../scripts/process.mjs';

const LOCK = join(tmpdir(), 'ferry-bench.lock');

/** Takes the lock or throws naming the run that holds it; a lock left by a dead process is taken over. */
export function acquireRunLock() {
  try {
    writeFileSync(LOCK, String(process.pid), { flag: 'wx' });
  } catch (err) {
    if (err.code !== 'EEXIST') throw err;
    const holder = Number(readFileSync(LOCK, 'utf8'));
    if (holder && holder !== process.pid && alive(holder)) {
      throw new Error(`another benchmark run (pid ${holder}) is in progress (${LOCK})`, { cause: err });
    }
    writeFileSync(LOCK, String(process.pid));
  }
}

export function releaseRunLock() {
  try {
    if (Number(readFileSync(LOCK, 'utf8')) === process.pid) rmSync(LOCK);
  } catch {
    // already gone
  }
}
