/** The two ways the engine moves big files: Node's sockets alone, or the native addon's threads (native-addon.ts). */
import { loadNativeAddon } from '@ferry/native';
import { afterEach, beforeEach, expect } from 'vitest';
import { nativeTransfers, useNativeAddon } from '../../src/native-addon.js';

/** The built native addon's file (pnpm build builds it; a test that needs it fails when it is missing). */
export function addonPath(): string {
  const native = loadNativeAddon();
  if (!('addon' in native)) throw new Error(`the native addon is not usable: ${native.error}`);
  return native.addon.path;
}

/** For describe.each: what useNativeAddon() is given in each. */
export const TRANSFER_WAYS = [
  { way: "Node's sockets", addon: (): string | null => null, native: false },
  { way: 'the native addon', addon: (): string | null => addonPath(), native: true },
] as const;

/**
 * In a describe.each(TRANSFER_WAYS) block: loads the way's addon (or none) before each test and unloads it after.
 * The function returned checks that `n` transfers of `kind` since the test began went to the addon's threads when it
 * is loaded (none without it), and that none still runs.
 */
export function eachTestTheWay(way: (typeof TRANSFER_WAYS)[number], kind: 'uploads' | 'downloads'): (n: number) => void {
  let before = nativeTransfers();
  beforeEach(() => {
    expect(useNativeAddon(way.addon())).toBeNull();
    before = nativeTransfers();
  });
  afterEach(() => void useNativeAddon(null));
  return (n) => {
    const now = nativeTransfers();
    expect(now[kind] - before[kind]).toBe(way.native ? n : 0);
    expect(now.running).toBe(0);
  };
}
