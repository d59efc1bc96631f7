import type { LiveSession } from '@ferry/contract';

type LiveTransfer = NonNullable<LiveSession['transfer']>;

/** How far a running transfer is, as the live view shows it. */
export interface TransferProgress {
  /** 0–100, whole numbers; null when the size is unknown (an upload without ALLO, a listing). */
  percent: number | null;
  /** Time left at the current rate; null when the size or the rate is unknown. */
  etaMs: number | null;
  bytesPerSecond: number;
  /** starting: no byte yet; stalled: bytes moved before, none lately; moving otherwise. */
  pace: 'starting' | 'moving' | 'stalled';
}

/**
 * Percentage and time left of a transfer. A size of 0 is complete at once; bytes beyond the size (an ASCII
 * download gains a CR per line) stay at 99% until the transfer ends, so 100% is only shown for a finished one.
 */
export function transferProgress(transfer: LiveTransfer): TransferProgress {
  const { size, bytes, bytesPerSecond } = transfer;
  const pace = bytesPerSecond > 0 ? 'moving' : bytes === 0 ? 'starting' : 'stalled';
  if (size === null || size < 0) return { percent: null, etaMs: null, bytesPerSecond, pace };
  if (size === 0) return { percent: 100, etaMs: 0, bytesPerSecond, pace };
  const percent = Math.min(99, Math.floor((bytes / size) * 100));
  const left = Math.max(0, size - bytes);
  const etaMs = bytesPerSecond > 0 ? Math.round((left / bytesPerSecond) * 1000) : null;
  return { percent, etaMs, bytesPerSecond, pace };
}
