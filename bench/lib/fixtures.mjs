// Test data: one large file shared by hard link between the servers' roots (same tmpfs, no copy),
// a 64 KiB file, an upload folder and a 10,000-entry folder per root.
import { chownSync, closeSync, linkSync, mkdirSync, openSync, readdirSync, statSync, writeSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { join } from 'node:path';

export const BIG = 'big.bin';
export const BIG_TLS = 'big-tls.bin';
export const SMALL64K = 'r64k.bin';
export const LIST_DIR = 'list10k';
export const UPLOAD_DIR = 'up';

/** Writes `bytes` of incompressible data to `file` in 1 MiB blocks. */
export function writeBigFile(file, bytes) {
  const block = randomFillSync(Buffer.alloc(1 << 20));
  const fd = openSync(file, 'w', 0o644);
  try {
    for (let written = 0; written < bytes;) {
      const n = Math.min(block.length, bytes - written);
      written += writeSync(fd, block, 0, n);
    }
  } finally {
    closeSync(fd);
  }
}

/** Populates a server's root; `owner` ({uid, gid}) for servers whose sessions run as a system user. */
export function populateRoot(root, { bigSource, tlsSource, listEntries, owner }) {
  mkdirSync(root, { recursive: true, mode: 0o755 });
  linkSync(bigSource, join(root, BIG));
  linkSync(tlsSource, join(root, BIG_TLS));
  writeSmall(join(root, SMALL64K), 64 * 1024);
  mkdirSync(join(root, UPLOAD_DIR), { mode: 0o755 });
  const listDir = join(root, LIST_DIR);
  mkdirSync(listDir, { mode: 0o755 });
  const payload = Buffer.from('x');
  for (let i = 0; i < listEntries; i += 1) {
    const fd = openSync(join(listDir, `entry-${String(i).padStart(5, '0')}.txt`), 'w', 0o644);
    writeSync(fd, payload);
    closeSync(fd);
  }
  if (owner) chownTree(root, owner);
}

function writeSmall(file, bytes) {
  const fd = openSync(file, 'w', 0o644);
  writeSync(fd, randomFillSync(Buffer.alloc(bytes)));
  closeSync(fd);
}

function chownTree(dir, { uid, gid }) {
  chownSync(dir, uid, gid);
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) chownTree(path, { uid, gid });
    else chownSync(path, uid, gid);
  }
}
