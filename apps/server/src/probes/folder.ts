/**
 * The probe links' shared home: `<data>/probe`, read-only for every probe login, holding one file of a few KiB
 * so that the customer's test downloads move real data over the data connection.
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const PROBE_FOLDER = 'probe';
export const PROBE_FILE = 'ferry-probe.txt';

const LINE = 'Ferry test file: if you can read this, a download over this connection worked.\n';
/** 4 KiB: more than fits in one TCP segment, small enough for any link. */
const CONTENT = LINE.repeat(Math.ceil(4096 / LINE.length)).slice(0, 4096);

/** Creates the probe folder and its file when missing; returns the folder's absolute path. */
export async function ensureProbeFolder(dataDir: string): Promise<string> {
  const folder = path.resolve(dataDir, PROBE_FOLDER);
  await mkdir(folder, { recursive: true });
  const file = path.join(folder, PROBE_FILE);
  const existing = await stat(file).catch(() => null);
  if (existing?.size !== CONTENT.length) await writeFile(file, CONTENT);
  return folder;
}
