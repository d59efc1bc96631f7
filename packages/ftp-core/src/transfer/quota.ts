/**
 * Per-account storage usage (for quotas) and the stream guard that stops an upload the moment it
 * would exceed the quota. Usage is measured by walking the home directory (asynchronously, at most
 * once every 30 s per home) and kept up to date by the uploads and deletions in between.
 */
import * as fsp from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { VfsError } from '../errors.js';

export interface Usage {
  bytes: number;
  files: number;
}

const FRESH_MS = 30_000;
const MAX_ENTRIES = 1_000_000;

export class UsageTracker {
  private readonly cache = new Map<string, { usage: Usage; at: number }>();

  async usage(root: string): Promise<Usage> {
    const hit = this.cache.get(root);
    if (hit && Date.now() - hit.at < FRESH_MS) return { ...hit.usage };
    const usage = await measure(root);
    this.cache.set(root, { usage, at: Date.now() });
    return { ...usage };
  }

  /** Records a change made by Ferry itself, so the cached usage stays right between walks. */
  adjust(root: string, bytes: number, files: number): void {
    const hit = this.cache.get(root);
    if (!hit) return;
    hit.usage.bytes = Math.max(0, hit.usage.bytes + bytes);
    hit.usage.files = Math.max(0, hit.usage.files + files);
  }
}

async function measure(root: string): Promise<Usage> {
  const usage: Usage = { bytes: 0, files: 0 };
  const stack = [root];
  let seen = 0;
  while (stack.length > 0 && seen < MAX_ENTRIES) {
    const dir = stack.pop()!;
    let handle;
    try {
      handle = await fsp.opendir(dir);
    } catch {
      continue;
    }
    for await (const entry of handle) {
      if (++seen > MAX_ENTRIES) break;
      const full = `${dir}/${entry.name}`;
      if (entry.isDirectory()) stack.push(full);
      else if (entry.isFile()) {
        const st = await fsp.lstat(full).catch(() => null);
        if (st) {
          usage.bytes += st.size;
          usage.files += 1;
        }
      }
    }
  }
  return usage;
}

/** Passes bytes through until `allowed` would be exceeded, then fails with a quota-exceeded VfsError. */
export function quotaGuard(allowed: number, path: string): Transform {
  let written = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      written += chunk.length;
      if (written > allowed) done(new VfsError('quota-exceeded', path));
      else done(null, chunk);
    },
  });
}
