/** Removes expired probe links (their password hashes with them) every minute; their sessions stay in history. */
import type { ProbeRecord, ProbeStore } from '@ferry/db';

export interface ProbeSweepOptions {
  probes: Pick<ProbeStore, 'sweepExpired'>;
  now: () => number;
  /** Default 60 s. */
  intervalMs?: number;
  /** Called with the links removed by one run. */
  onSwept?: (removed: ProbeRecord[]) => void;
  onError?: (error: unknown) => void;
}

/** Links removed per batch, and batches per run: a backlog is worked off over several runs, never in one long write. */
const BATCH = 200;
const BATCHES_PER_RUN = 5;

/** One bounded run; returns the links removed. */
export function sweepProbes(opts: Pick<ProbeSweepOptions, 'probes' | 'now'>): ProbeRecord[] {
  const removed: ProbeRecord[] = [];
  for (let i = 0; i < BATCHES_PER_RUN; i++) {
    const batch = opts.probes.sweepExpired(opts.now(), BATCH);
    removed.push(...batch);
    if (batch.length < BATCH) break;
  }
  return removed;
}

/** Starts the periodic sweep on an unref'd timer; returns its stop function. */
export function startProbeSweep(opts: ProbeSweepOptions): () => void {
  const timer = setInterval(() => {
    try {
      const removed = sweepProbes(opts);
      if (removed.length > 0) opts.onSwept?.(removed);
    } catch (error) {
      opts.onError?.(error);
    }
  }, opts.intervalMs ?? 60_000);
  timer.unref();
  return () => clearInterval(timer);
}
