/**
 * Per-account storage usage (for quotas) and the stream guard that stops an upload the moment it
 * would exceed the quota. Usage is measured by walking the home directory (asynchronously, at most
 * once every 30 s per home) and kept up to date by the uploads and deletions in between.
 */
import * as fsp from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { VfsError } from '../errors.js';
import { isUploadTempName } from '../vfs/virtual-path.js';

export interface Usage {
  bytes: number;
  files: number;
}

const FRESH_MS = 30_000;
const MAX_ENTRIES = 1_000_000;

/**
 * One upload's claim on its account's quota: what it has written so far counts against the quota of every
 * other upload into the same home at once, and a new file counts against the file quota from its start.
 * Settled on commit (the bytes become usage) or on rollback (the claim is dropped).
 */
export interface QuotaClaim {
  /** Adds `n` written bytes; false when usage plus every running upload's bytes would exceed `quotaBytes`. */
  take(n: number): boolean;
  /** The upload was committed: `bytes` and `files` become usage. */
  settle(bytes: number, files: number): void;
  /** The upload failed: the claim is dropped. */
  drop(): void;
}

export class UsageTracker {
  private readonly cache = new Map<string, { usage: Usage; at: number }>();
  /** Bytes written and new files started by the uploads running now, per home. */
  private readonly inflight = new Map<string, Usage>();
  private readonly walks = new Map<string, Promise<Usage>>();

  async usage(root: string): Promise<Usage> {
    const hit = this.cache.get(root);
    if (hit && Date.now() - hit.at < FRESH_MS) return { ...hit.usage };
    // Uploads that start together share one walk.
    let walk = this.walks.get(root);
    if (!walk) {
      walk = measure(root).finally(() => this.walks.delete(root));
      this.walks.set(root, walk);
    }
    const usage = await walk;
    const fresh = this.cache.get(root); // another upload of the same walk got there first (and may have adjusted it)
    if (fresh && Date.now() - fresh.at < FRESH_MS) return { ...fresh.usage };
    this.cache.set(root, { usage: { ...usage }, at: Date.now() });
    return { ...usage };
  }

  /**
   * Starts an upload's claim, or null when the file quota is already taken (usage plus the new files of
   * running uploads). `newFile`: the upload creates a file.
   */
  async claim(root: string, quota: { bytes: number | null; files: number | null }, newFile: boolean): Promise<QuotaClaim | null> {
    const usage = await this.usage(root);
    const running = this.inflight.get(root) ?? { bytes: 0, files: 0 };
    if (newFile && quota.files !== null && usage.files + running.files >= quota.files) return null;
    running.files += newFile ? 1 : 0;
    this.inflight.set(root, running);
    let mine = 0;
    let open = true;
    const release = (): void => {
      if (!open) return;
      open = false;
      running.bytes -= mine;
      running.files -= newFile ? 1 : 0;
      if (running.bytes <= 0 && running.files <= 0 && this.inflight.get(root) === running) this.inflight.delete(root);
    };
    return {
      take: (n) => {
        mine += n;
        running.bytes += n;
        if (quota.bytes === null) return true;
        const cached = this.cache.get(root)?.usage ?? usage;
        return cached.bytes + running.bytes <= quota.bytes;
      },
      settle: (bytes, files) => {
        release();
        this.adjust(root, bytes, files);
      },
      drop: release,
    };
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
      else if (isUploadTempName(entry.name))
        continue; // a running upload counts through its claim; a leftover is removed by listings
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

/**
 * Passes bytes through while the claim allows them (`freed`: bytes the upload frees, e.g. the old size of
 * a replaced file), then fails with a quota-exceeded VfsError.
 */
export function quotaGuard(claim: QuotaClaim, freed: number, path: string): Transform {
  let credit = freed;
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      const fromCredit = Math.min(credit, chunk.length);
      credit -= fromCredit;
      if (claim.take(chunk.length - fromCredit)) done(null, chunk);
      else done(new VfsError('quota-exceeded', path));
    },
  });
}

/**
 * Free space on the filesystem of a home, for the reserve that uploads leave to the database: asked of the
 * system at most once a second per home (statfs), so small uploads stay cheap.
 */
export class DiskSpace {
  private readonly cache = new Map<string, { at: number; free: number | null }>();

  constructor(
    /** Bytes an upload must leave free; 0 = no reserve. */
    readonly reserveBytes: number,
  ) {}

  /** Bytes free for this process's writes on the filesystem holding `path`, or null when the system does not say. */
  async free(path: string): Promise<number | null> {
    const hit = this.cache.get(path);
    if (hit && Date.now() - hit.at < 1_000) return hit.free;
    const free = await fsp.statfs(path).then(
      (st) => st.bavail * st.bsize,
      () => null,
    );
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(path, { at: Date.now(), free });
    return free;
  }

  /** Whether an upload into `path` would eat into the reserve. */
  async belowReserve(path: string): Promise<boolean> {
    if (this.reserveBytes <= 0) return false;
    const free = await this.free(path);
    return free !== null && free < this.reserveBytes;
  }
}
