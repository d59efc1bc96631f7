/** The two ways the engine moves big files: Node's sockets alone, or the native addon's threads (native-addon.ts). */
import { loadNativeAddon } from '@ferry/native';

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
