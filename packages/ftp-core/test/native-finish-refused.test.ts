/**
 * An upload's finish that the native addon refuses before it starts (its arguments) owns nothing: the engine's
 * wrapper closes both descriptors itself and says so (`started: false`), so the caller removes the temporary file.
 * Without it, a refused finish left the two descriptors open for the life of the process.
 */
import { existsSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUploadFileNatively, finishUploadNatively, useNativeAddon } from '../src/native-addon.js';
import { addonPath } from './support/native.js';

let root = '';
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ferry-finish-'));
  expect(useNativeAddon(addonPath())).toBeNull();
});
afterAll(async () => {
  useNativeAddon(null);
  await rm(root, { recursive: true, force: true });
});

/** What a descriptor leads to now, or null when it is closed. */
const leadsTo = (fd: number): string | null => {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return null;
  }
};

describe('finishUploadNatively refused before it starts', () => {
  it('closes both descriptors and rejects with started: false', async () => {
    const created = await createUploadFileNatively(root, '', 'a.txt', '.a.txt.tmp');
    expect(created).not.toBeNull();
    const { fileFd, folderFd } = created!;
    expect(leadsTo(fileFd)).toBe(join(root, '.a.txt.tmp'));
    expect(leadsTo(folderFd)).toBe(root);
    const refused = await finishUploadNatively(created!, [], '.a.txt.tmp', 'a/b').then(
      () => null,
      (error: unknown) => error as Error & { started?: boolean },
    );
    expect(refused?.message).toMatch(/plain entry names/);
    expect(refused?.started).toBe(false);
    expect(leadsTo(fileFd), 'the file descriptor is closed').toBeNull();
    expect(leadsTo(folderFd), 'the folder descriptor is closed').toBeNull();
    expect(existsSync(join(root, 'a.txt')), 'nothing was renamed into place').toBe(false);
  });
});
