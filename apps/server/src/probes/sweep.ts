/**
 * Retires expired probe links every minute (their password hashes are cleared and their open sessions closed; the
 * links stay listed with their results), and deletes links retired for a week. Their sessions stay in history.
 */
import type { ProbeRecord, ProbeStore } from '@ferry/db';

/**
 * How long a retired link is kept after its expiry: long enough for the operator to read the results of a test
 * the customer ran late, and for a late customer to be told the link expired rather than "Login incorrect".
 */
export const RETIRED_PROBE_KEEP_MS = 7 * 24 * 3_600_000;

export interface ProbeSweepResult {
  /** Links that expired since the last run: their credentials are gone. */
  retired: ProbeRecord[];
  /** Links retired for RETIRED_PROBE_KEEP_MS, now deleted. */
  purged: ProbeRecord[];
}

export interface ProbeSweepOptions {
  probes: Pick<ProbeStore, 'retireExpired' | 'purgeRetired'>;
  now: () => number;
  /** Default 60 s. */
  intervalMs?: number;
  /** Called after a run that retired or purged links. */
  onSwept?: (result: ProbeSweepResult) => void;
  onError?: (error: unknown) => void;
}

/** Links per batch, and batches per run and step: a backlog is worked off over several runs, never in one long write. */
const BATCH = 200;
const BATCHES_PER_RUN = 5;

/** Runs `step` in batches until one comes back short or the run's budget is spent. */
async function inBatches(step: (limit: number) => Promise<ProbeRecord[]>): Promise<ProbeRecord[]> {
  const done: ProbeRecord[] = [];
  for (let i = 0; i < BATCHES_PER_RUN; i++) {
    const batch = await step(BATCH);
    done.push(...batch);
    if (batch.length < BATCH) break;
  }
  return done;
}

/** One bounded run: retires the links expired now, then deletes those retired for a week. */
export async function sweepProbes(opts: Pick<ProbeSweepOptions, 'probes' | 'now'>): Promise<ProbeSweepResult> {
  const now = opts.now();
  return {
    retired: await inBatches((limit) => opts.probes.retireExpired(now, limit)),
    purged: await inBatches((limit) => opts.probes.purgeRetired(now - RETIRED_PROBE_KEEP_MS, limit)),
  };
}

/** Starts the periodic sweep on an unref'd timer; returns its stop function. */
export function startProbeSweep(opts: ProbeSweepOptions): () => void {
  let running = false;
  const timer = setInterval(() => {
    // A run still going when the next is due (a slow database) is not overtaken.
    if (running) return;
    running = true;
    sweepProbes(opts)
      .then((result) => {
        if (result.retired.length > 0 || result.purged.length > 0) opts.onSwept?.(result);
      })
      .catch((error: unknown) => opts.onError?.(error))
      .finally(() => (running = false));
  }, opts.intervalMs ?? 60_000);
  timer.unref();
  return () => clearInterval(timer);
}
