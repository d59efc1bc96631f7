/**
 * A user's view of the disk: the home at `/` plus the virtual folders mounted into it (see areas.ts). Every
 * operation resolves a virtual path, finds its area, checks the user's permission for the full virtual path
 * and checks (with realpath, so symlinks count) that it stays inside that area's root, before it touches
 * the disk. Commands never build disk paths themselves.
 */
import type { Stats } from 'node:fs';
import { constants as fsc } from 'node:fs';
import * as fsp from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { FtpError, VfsError, fromFsError } from '../errors.js';
import { PermissionTable, type ResolvedPermissions } from '../permissions.js';
import type { Permission, PermissionRule } from '../ports.js';
import { Reply } from '../reply.js';
import type { UsageTracker } from '../transfer/quota.js';
import { createUploadFileNatively, readSmallFileNatively } from '../native-addon.js';
import { diskPathIn, FsAreas, pathInArea, virtualPathIn, type FsArea } from './areas.js';
import { DEFAULT_CROSS_FOLDER_RENAME_MAX_BYTES, moveAcrossAreas } from './cross-area-move.js';
import { readFolder } from './folder-entries.js';
import type { ListEntry } from './list-format.js';
import { FILE_CHUNK_BYTES } from '../transfer/count.js';
import { WHOLE_READ_MAX_BYTES } from '../transfer/send-file.js';
import { descriptorInside } from './descriptor.js';
import { openUpload, uploadTempName, type CreatedTemp, type Upload, type UploadMode } from './upload.js';
import { baseName, isInsideRoot, joinVirtual, parentOf, resolveVirtual } from './virtual-path.js';

export interface UserFsOptions {
  /** The real (realpath'ed) home directory. */
  root: string;
  rules: readonly PermissionRule[];
  /** The virtual folders in the tree, their roots realpath'ed (see openUserFs); none by default. */
  mounts?: readonly FsArea[];
  /** The account's quota, for files in the home; null or absent = unlimited. */
  quotaBytes?: number | null;
  quotaFiles?: number | null;
  /** false: the user's permissions are reported but not enforced (the admin's file browser); containment always is. */
  enforcePermissions?: boolean;
  /** Usage counts kept right by moves between areas, which also respect the target's quota. */
  usage?: UsageTracker;
  /** Largest file a rename between two areas copies (see FtpSettings.crossFolderRenameMaxBytes). */
  crossFolderRenameMaxBytes?: number;
  /** Told about every refusal, for the transcript. */
  onDenied?: (path: string, permission: Permission, rule: string | null) => void;
}

export class UserFs {
  /** The real home directory. */
  readonly root: string;
  private readonly table: PermissionTable;
  private readonly areas: FsAreas;
  private readonly enforce: boolean;
  private readonly usage: UsageTracker | undefined;
  private readonly moveMaxBytes: number;
  private readonly onDenied: UserFsOptions['onDenied'];

  constructor(opts: UserFsOptions) {
    this.root = opts.root;
    this.table = PermissionTable.of(opts.rules);
    const home: FsArea = {
      path: '/',
      root: opts.root,
      folder: null,
      quotaBytes: opts.quotaBytes ?? null,
      quotaFiles: opts.quotaFiles ?? null,
    };
    this.areas = new FsAreas(home, opts.mounts ?? []);
    this.enforce = opts.enforcePermissions ?? true;
    this.usage = opts.usage;
    this.moveMaxBytes = opts.crossFolderRenameMaxBytes ?? DEFAULT_CROSS_FOLDER_RENAME_MAX_BYTES;
    this.onDenied = opts.onDenied;
  }

  resolve(cwd: string, raw: string): string {
    return resolveVirtual(cwd, raw);
  }

  permissionsFor(virtualPath: string): ResolvedPermissions {
    return this.table.resolve(virtualPath);
  }

  /** The area `vpath` belongs to: where it is stored and whose quota it counts against. */
  areaOf(vpath: string): FsArea {
    return this.areas.of(vpath);
  }

  /** Where `vpath` is on disk (inside its area's root; symlinks below it not followed). */
  hostPath(vpath: string): string {
    return diskPathIn(this.areas.of(vpath), vpath);
  }

  /** The virtual folder mounted at `vpath` itself, if any. */
  mountAt(vpath: string): FsArea | undefined {
    return this.areas.mountAt(vpath);
  }

  /** The home and every mounted folder. */
  allAreas(): FsArea[] {
    return this.areas.all();
  }

  private assertAllowed(permission: Permission, dir: string, subject: string): void {
    if (!this.enforce) return;
    const resolved = this.permissionsFor(dir);
    if (resolved.allow.has(permission)) return;
    this.onDenied?.(subject, permission, resolved.rule);
    throw new VfsError('permission-denied', subject, { permission, rule: resolved.rule });
  }

  /**
   * Refuses to rename to or from a path at which, or below which, a permission rule lies: rules belong to paths, so
   * moving `/templates` (read-only by its rule) to `/t` would make its files writable under `/`'s rule, and moving a
   * folder to a path with rules below it would put its subfolders under those.
   */
  private assertNoRuleWithin(vpath: string): void {
    if (!this.enforce) return;
    const rule = this.table.ruleAtOrBelow(vpath);
    if (rule === null) return;
    this.onDenied?.(vpath, 'rename', rule);
    throw new VfsError('permission-denied', vpath, { permission: 'rename', rule });
  }

  /** Refuses to remove or rename a mount point, or a folder that holds one. */
  private assertNoMount(vpath: string): void {
    if (this.areas.mountAt(vpath)) throw new VfsError('mount-point', vpath);
    if (this.areas.holdsMount(vpath)) throw new VfsError('holds-mount', vpath);
  }

  /**
   * The disk path of `vpath` once its real location is known to be inside its area's root. For a path
   * that does not exist yet, its nearest existing ancestor is checked instead. With `need`, the permission
   * is also checked where the path really leads: a symlink inside the home (`/pub/link -> ../private`)
   * does not lend `/pub`'s rule to `/private`.
   */
  private async contained(vpath: string, need?: Need): Promise<string> {
    const area = this.areas.of(vpath);
    const real = await this.realLocation(area, vpath);
    if (!isInsideRoot(area.root, real)) throw new VfsError('outside-root', vpath);
    if (need) {
      const where = virtualPathIn(area, real);
      if (where !== vpath) this.assertAllowed(need.permission, need.on === 'parent' ? parentOf(where) : where, vpath);
    }
    return diskPathIn(area, vpath);
  }

  /** The real disk location of `vpath` (of `area`): symlinks of its existing part resolved, a missing tail kept. */
  private async realLocation(area: FsArea, vpath: string): Promise<string> {
    const disk = diskPathIn(area, vpath);
    try {
      return await fsp.realpath(disk);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && vpath !== area.path) {
        const parent = await this.realLocation(area, parentOf(vpath));
        return `${parent === '/' ? '' : parent}/${baseName(vpath)}`;
      }
      throw fromFsError(err, vpath);
    }
  }

  private async statContained(vpath: string, need?: Need): Promise<{ disk: string; stats: Stats }> {
    const disk = await this.contained(vpath, need);
    try {
      return { disk, stats: await fsp.stat(disk) };
    } catch (err) {
      throw fromFsError(err, vpath);
    }
  }

  /** Stats a file or directory (SIZE, MDTM, MLST): needs `list` where it lives. */
  async stat(vpath: string): Promise<Stats> {
    this.assertAllowed('list', parentOf(vpath), vpath);
    return (await this.statContained(vpath, { permission: 'list', on: 'parent' })).stats;
  }

  /** Checks that `vpath` is a directory the user may enter (any permission there). */
  async changeDir(vpath: string): Promise<void> {
    const { stats } = await this.statContained(vpath);
    if (!stats.isDirectory()) throw new VfsError('not-a-directory', vpath);
    if (this.permissionsFor(vpath).allow.size === 0) this.assertAllowed('list', vpath, vpath);
  }

  /**
   * Prepares a listing of `vpath` (LIST, NLST, MLSD, STAT <path>): checks `list` and existence now, so a
   * refusal comes before the data connection opens, and returns the entries as an async iterable of
   * batches that reads the directory as it goes (one lstat per entry, many in flight). A file lists as itself.
   */
  async list(vpath: string): Promise<AsyncIterable<ListEntry[]>> {
    const { disk, stats } = await this.statContained(vpath);
    if (!stats.isDirectory()) {
      this.assertAllowed('list', parentOf(vpath), vpath);
      await this.contained(vpath, { permission: 'list', on: 'parent' });
      return single({ name: baseName(vpath), stats });
    }
    this.assertAllowed('list', vpath, vpath);
    await this.contained(vpath, { permission: 'list', on: 'self' });
    return readFolder(this.areas.of(vpath), disk, this.areas.mountsIn(vpath));
  }

  /** Opens a file for download at `offset` (REST); errors surface before any data connection opens. */
  async openRead(vpath: string, offset: number): Promise<OpenedFile> {
    this.assertAllowed('download', parentOf(vpath), vpath);
    // A small file at a path without links, with the native addon: opened, read and closed in one round trip to the
    // thread pool. The kernel resolves the path beneath the area's root and refuses any link or "..", so the file is
    // the one at `vpath` itself: contained, and the permission checked above is the one that applies.
    const area = this.areas.of(vpath);
    const whole = readSmallFileNatively(area.root, pathInArea(area, vpath).slice(1), WHOLE_READ_MAX_BYTES);
    const data = whole && (await whole);
    if (data) {
      if (offset > data.length) throw restartBeyondEnd(offset, data.length);
      return new OpenedFile(null, data.length, offset, data);
    }
    const disk = await this.contained(vpath, { permission: 'download', on: 'parent' });
    // open and stat together: one round trip to the thread pool instead of two. What they see can only
    // differ if the file is swapped in between, and then the transfer fails on a read, as it would anyway.
    const [opened, stat] = await Promise.allSettled([fsp.open(disk, fsc.O_RDONLY | fsc.O_NONBLOCK), fsp.stat(disk)]);
    if (opened.status === 'rejected') throw fromFsError(opened.reason, vpath);
    const handle = opened.value;
    // A symlink swapped in after the check above must not serve a file from outside the area.
    if (!descriptorInside(handle, this.areas.of(vpath).root)) {
      await handle.close();
      throw new VfsError('outside-root', vpath);
    }
    if (stat.status === 'rejected') {
      await handle.close();
      throw fromFsError(stat.reason, vpath);
    }
    const stats = stat.value;
    if (!stats.isFile()) {
      await handle.close();
      throw new VfsError(stats.isDirectory() ? 'is-a-directory' : 'not-found', vpath);
    }
    if (offset > stats.size) {
      await handle.close();
      throw restartBeyondEnd(offset, stats.size);
    }
    return new OpenedFile(handle, stats.size, offset);
  }

  /**
   * Opens an upload. `replace` writes a hidden temporary file that is renamed into place on commit;
   * `append` (APPE) and `resume` (REST + STOR) write to the real file, as clients expect.
   */
  async openWrite(vpath: string, mode: UploadMode, offset = 0): Promise<Upload> {
    if (vpath === '/' || this.areas.mountAt(vpath)) throw new VfsError('is-a-directory', vpath);
    const created = mode === 'replace' ? await this.createUploadNatively(vpath) : null;
    if (created) {
      const area = this.areas.of(vpath);
      const disk = diskPathIn(area, vpath);
      return openUpload({ root: area.root, disk, vpath, mode, offset, existingSize: created.file.existingSize, created });
    }
    const { disk, existing, folder } = await this.uploadTarget(vpath);
    if (existing?.isDirectory()) throw new VfsError('is-a-directory', vpath);
    this.assertAllowed(existing ? 'overwrite' : 'upload', parentOf(vpath), vpath);
    if (mode === 'resume' && offset > (existing?.size ?? 0)) {
      throw new FtpError(Reply.InvalidRestart, `Restart offset ${offset} is beyond the end of the file`);
    }
    // A new file by a user who may not overwrite (a drop box): a file of the same name arriving meanwhile, from another
    // session, must not be replaced by this upload's end.
    const noReplace =
      existing === null && this.enforce && [parentOf(vpath), folder].some((f) => !this.permissionsFor(f).allow.has('overwrite'));
    return openUpload({ root: this.areas.of(vpath).root, disk, vpath, mode, offset, existingSize: existing?.size ?? null, noReplace });
  }

  /**
   * A plain upload's temporary file, created by the native addon in one round trip to the thread pool, when the user
   * may both upload and overwrite in the folder (so what is there now decides nothing) and the path holds no link:
   * the kernel resolves the folder beneath the area's root and refuses any link or "..", so the folder is the one at
   * `vpath`'s parent itself, whose permissions were checked. Null for the general path (no addon, a link, a folder
   * in the way, a missing folder, a permission to check against what exists): nothing was created then.
   */
  private async createUploadNatively(vpath: string): Promise<CreatedTemp | null> {
    const folder = parentOf(vpath);
    if (this.enforce) {
      const allow = this.permissionsFor(folder).allow;
      if (!allow.has('upload') || !allow.has('overwrite')) return null;
    }
    const area = this.areas.of(vpath); // not a mount point (see openWrite): its folder is in the same area
    const name = baseName(vpath);
    const tempName = uploadTempName(name);
    const file = await createUploadFileNatively(area.root, pathInArea(area, folder).slice(1), name, tempName);
    return file && { file, tempName };
  }

  /**
   * Where an upload goes and what is there now, in one round trip in the common case: the folder's
   * realpath and the entry's lstat are asked together. A plain entry of a contained folder is
   * contained; a link, or a folder that cannot be resolved, takes the general path (its checks, its errors).
   */
  private async uploadTarget(vpath: string): Promise<{ disk: string; existing: Stats | null; folder: string }> {
    const area = this.areas.of(vpath); // not a mount point (see openWrite): its folder is in the same area
    const disk = diskPathIn(area, vpath);
    const [folder, entry] = await Promise.all([
      fsp.realpath(diskPathIn(area, parentOf(vpath))).catch(() => null),
      fsp.lstat(disk).catch(() => null),
    ]);
    if (folder === null || entry?.isSymbolicLink()) {
      await this.contained(vpath);
      const existing = await fsp.stat(disk).catch(() => null);
      await this.contained(vpath, { permission: existing ? 'overwrite' : 'upload', on: 'parent' });
      return { disk, existing, folder: parentOf(vpath) };
    }
    if (!isInsideRoot(area.root, folder)) throw new VfsError('outside-root', vpath);
    const where = virtualPathIn(area, folder);
    if (where !== parentOf(vpath)) this.assertAllowed(entry ? 'overwrite' : 'upload', where, vpath);
    return { disk, existing: entry, folder: where };
  }

  async mkdir(vpath: string): Promise<void> {
    this.assertAllowed('mkdir', parentOf(vpath), vpath);
    if (this.areas.mountAt(vpath)) throw new VfsError('already-exists', vpath);
    const disk = await this.contained(vpath, { permission: 'mkdir', on: 'parent' });
    await fsp.mkdir(disk).catch((err: unknown) => Promise.reject(fromFsError(err, vpath)));
  }

  async rmdir(vpath: string): Promise<void> {
    if (vpath === '/') throw new VfsError('permission-denied', vpath);
    this.assertNoMount(vpath);
    this.assertAllowed('rmdir', parentOf(vpath), vpath);
    const disk = await this.contained(vpath, { permission: 'rmdir', on: 'parent' });
    await fsp.rmdir(disk).catch((err: unknown) => Promise.reject(fromFsError(err, vpath)));
  }

  /** Deletes a file; resolves with its size (for quota accounting). */
  async delete(vpath: string): Promise<number> {
    if (this.areas.mountAt(vpath)) throw new VfsError('mount-point', vpath);
    this.assertAllowed('delete', parentOf(vpath), vpath);
    const disk = await this.contained(vpath, { permission: 'delete', on: 'parent' });
    const stats = await fsp.lstat(disk).catch((err: unknown) => Promise.reject(fromFsError(err, vpath)));
    if (stats.isDirectory()) throw new VfsError('is-a-directory', vpath);
    await fsp.unlink(disk).catch((err: unknown) => Promise.reject(fromFsError(err, vpath)));
    return stats.size;
  }

  /** Checks that a rename source exists and may be renamed (RNFR). */
  async checkRenameSource(vpath: string): Promise<void> {
    if (vpath === '/') throw new VfsError('permission-denied', vpath);
    this.assertNoMount(vpath);
    this.assertAllowed('rename', parentOf(vpath), vpath);
    this.assertNoRuleWithin(vpath);
    const disk = await this.contained(vpath, { permission: 'rename', on: 'parent' });
    await fsp.lstat(disk).catch((err: unknown) => Promise.reject(fromFsError(err, vpath)));
  }

  /**
   * RNFR + RNTO. Within one area a rename(2); between two areas (their roots may be on different disks) a
   * file up to crossFolderRenameMaxBytes is copied and its source deleted (see cross-area-move.ts).
   */
  async rename(from: string, to: string): Promise<void> {
    if (to === '/') throw new VfsError('permission-denied', to);
    await this.checkRenameSource(from);
    this.assertNoMount(to);
    this.assertAllowed('rename', parentOf(to), to);
    this.assertNoRuleWithin(to);
    const fromDisk = await this.contained(from, { permission: 'rename', on: 'parent' });
    const toDisk = await this.contained(to, { permission: 'rename', on: 'parent' });
    if (
      await fsp.lstat(toDisk).then(
        () => true,
        () => false,
      )
    )
      this.assertAllowed('overwrite', parentOf(to), to);
    const fromArea = this.areas.of(from);
    const toArea = this.areas.of(to);
    if (fromArea !== toArea) {
      await moveAcrossAreas({
        from: { vpath: from, disk: fromDisk, area: fromArea },
        to: { vpath: to, disk: toDisk, area: toArea },
        maxBytes: this.moveMaxBytes,
        usage: this.usage,
      });
      return;
    }
    await fsp.rename(fromDisk, toDisk).catch((err: unknown) => Promise.reject(fromFsError(err, to)));
  }

  /** MFMT / MDTM with a time. */
  async setModified(vpath: string, date: Date): Promise<void> {
    this.assertAllowed('overwrite', parentOf(vpath), vpath);
    const { disk } = await this.statContained(vpath, { permission: 'overwrite', on: 'parent' });
    await fsp.utimes(disk, date, date).catch((err: unknown) => Promise.reject(fromFsError(err, vpath)));
  }

  /** SITE CHMOD: permission bits only. */
  async chmod(vpath: string, mode: number): Promise<void> {
    // The home and every mounted folder keep the modes the administrator gave them, whatever path leads there.
    const area = this.areas.of(vpath);
    if (vpath === area.path || (await this.realLocation(area, vpath)) === area.root) throw new VfsError('permission-denied', vpath);
    this.assertAllowed('overwrite', parentOf(vpath), vpath);
    const { disk } = await this.statContained(vpath, { permission: 'overwrite', on: 'parent' });
    await fsp.chmod(disk, mode & 0o777).catch((err: unknown) => Promise.reject(fromFsError(err, vpath)));
  }

  /** A name in `dir` that does not exist yet (STOU). */
  async uniqueName(dir: string): Promise<string> {
    for (let i = 0; i < 20; i++) {
      const name = `ferry-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
      const vpath = joinVirtual(dir, name);
      const exists = await fsp.lstat(diskPathIn(this.areas.of(vpath), vpath)).then(
        () => true,
        () => false,
      );
      if (!exists) return vpath;
    }
    throw new VfsError('busy', dir);
  }
}

/** A permission to check where a path really leads, on the folder holding it or on the path itself. */
interface Need {
  permission: Permission;
  on: 'parent' | 'self';
}

function restartBeyondEnd(offset: number, size: number): FtpError {
  return new FtpError(Reply.InvalidRestart, `Restart offset ${offset} is beyond the end of the file (${size})`);
}

/**
 * A file opened for reading from `offset`: read through `source` (see transfer/send-file.ts) or as a stream
 * (`stream`, made on first use, which closes the file at its end). Whoever uses neither calls close(). A small file
 * read whole as it was opened holds its bytes (`content`) and no handle.
 */
export class OpenedFile {
  #stream: Readable | null = null;

  constructor(
    /** Null when the file was read whole (`content`) and is closed already. */
    readonly handle: FileHandle | null,
    /** The file's size when it was opened. */
    readonly size: number,
    readonly offset: number,
    /** The whole file, when it was read at once. */
    readonly content: Buffer | null = null,
  ) {}

  /** What sendFile reads: the bytes when the file was read whole, else its handle. */
  get source(): FileHandle | Buffer {
    return this.content ?? (this.handle as FileHandle);
  }

  /** The bytes from the offset to the end, as the size was when the file was opened. */
  get remaining(): number {
    return this.size - this.offset;
  }

  /**
   * The rest of the file as a stream. Large reads for large files; a small file gets a buffer of its own size.
   * The size announced in the 150 is what is sent (as vsftpd does), so no read is spent on finding the end.
   * emitClose is off: a transfer ends when the last byte is read and sent; the file is closed after that
   * without holding back the 226 for one more round trip to the thread pool.
   */
  get stream(): Readable {
    if (this.#stream === null && this.content !== null) {
      const rest = this.content.subarray(this.offset);
      this.#stream = new Readable({
        read() {
          if (rest.length > 0) this.push(rest);
          this.push(null);
        },
      });
    }
    if (this.#stream === null && this.handle !== null) {
      const remaining = this.remaining;
      this.#stream = this.handle.createReadStream({
        start: this.offset,
        ...(remaining > 0 ? { end: this.size - 1 } : {}),
        highWaterMark: Math.min(FILE_CHUNK_BYTES, Math.max(64 * 1024, remaining)),
        emitClose: false,
      });
    }
    return this.#stream as Readable;
  }

  /** Closes the file (and its stream, if one was made). */
  close(): Promise<void> {
    if (this.#stream !== null) {
      this.#stream.destroy();
      return Promise.resolve();
    }
    return this.handle?.close().catch(() => undefined) ?? Promise.resolve();
  }
}

async function* single(entry: ListEntry): AsyncIterable<ListEntry[]> {
  yield [entry];
}
