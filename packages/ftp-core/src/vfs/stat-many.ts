/**
 * lstat for many paths at once (directory listings). The callback API with a bounded number of calls in
 * flight keeps the thread pool busy without a promise and an await per entry: a 10,000-entry folder is
 * stat'ed in a fraction of the time one awaited lstat after another takes.
 */
import { lstat, type Stats } from 'node:fs';

/** Calls in flight at once: more than the thread pool's threads, so none of them idles between calls. */
const WINDOW = 32;

/** Stats of `paths`, in order; null for a path that vanished or cannot be read. Never rejects. */
export function lstatMany(paths: readonly string[]): Promise<(Stats | null)[]> {
  const out = new Array<Stats | null>(paths.length).fill(null);
  if (paths.length === 0) return Promise.resolve(out);
  return new Promise((resolve) => {
    let next = 0;
    let done = 0;
    const start = (): void => {
      const i = next++;
      lstat(paths[i]!, (err, stats) => {
        if (!err) out[i] = stats;
        if (++done === paths.length) resolve(out);
        else if (next < paths.length) start();
      });
    };
    for (let k = 0; k < WINDOW && next < paths.length; k++) start();
  });
}
