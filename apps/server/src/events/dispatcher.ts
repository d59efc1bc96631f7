/**
 * The delivery worker: takes due deliveries from the outbox, runs their actions (a bounded number at a time)
 * and records every attempt. Nothing is kept only in memory: a delivery is pending in SQLite until an attempt
 * succeeds or it is given up, so a restart (or kill -9) resumes where the last run stopped. A delivery whose
 * attempt was cut short by a crash is sent again with the same event id: at least once, deduplicated by id.
 */
import path from 'node:path';
import type { EmailAction, Event, EventType } from '@ferry/contract';
import type { DeliveryRecord, EventStore } from '@ferry/db';
import type { Attempt, Outgoing } from './attempt.js';
import { runCommand } from './command.js';
import type { Mailer } from './email.js';
import type { RuleDefinition } from './matching.js';
import { sendWebhook } from './webhook.js';

export interface RetryPolicy {
  /** Delay after the first failed attempt; doubles after each. */
  baseMs: number;
  /** Longest delay between two attempts. */
  maxDelayMs: number;
  /** A delivery not done this long after its event is given up (failed). */
  giveUpAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { baseMs: 10_000, maxDelayMs: 3_600_000, giveUpAfterMs: 24 * 3_600_000 };

/** When to try again after `attempts` failed attempts, or null to give up. Jitter: ±25 %. */
export function nextAttemptAt(policy: RetryPolicy, attempts: number, occurredAt: number, now: number, random = Math.random): number | null {
  const delay = Math.min(policy.baseMs * 2 ** Math.min(attempts - 1, 30), policy.maxDelayMs);
  const next = now + Math.round(delay * (0.75 + random() * 0.5));
  return next - occurredAt > policy.giveUpAfterMs ? null : next;
}

export type AttemptOutcome = 'delivered' | 'retry' | 'failed';

export interface DispatcherOptions {
  store: EventStore;
  rule: (id: number) => RuleDefinition | undefined;
  mailer: Mailer;
  userAgent: string;
  retry?: RetryPolicy;
  /** Programs command actions may run (FERRY_EVENT_COMMANDS now, not when the rule was saved). */
  commands?: readonly string[];
  /** Attempts running at once; default 16. */
  concurrency?: number;
  now?: () => number;
  onAttempt?: (kind: string, outcome: AttemptOutcome, delivery: DeliveryRecord, attempt: Attempt) => void;
  onError?: (error: unknown) => void;
}

/** Attempts running at once for one action: a receiver that hangs holds these slots, not everyone's. */
const PER_ACTION = 4;
/** Longest sleep between two looks at the outbox, in case a wake-up was missed. */
const IDLE_POLL_MS = 30_000;
/** Events one digest e-mail carries at most (the rest go in the next). */
const DIGEST_MAX = 200;

export class EventDispatcher {
  readonly #inflight = new Set<number>();
  /** Attempts running per action (`ruleId:actionId`). */
  readonly #perAction = new Map<string, number>();
  readonly #running = new Set<Promise<void>>();
  readonly #waiters = new Map<number, (() => void)[]>();
  readonly #abort = new AbortController();
  readonly #retry: RetryPolicy;
  readonly #concurrency: number;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | null = null;
  #woken = false;
  #closed = false;

  constructor(private readonly opts: DispatcherOptions) {
    this.#retry = opts.retry ?? DEFAULT_RETRY;
    this.#concurrency = opts.concurrency ?? 16;
    this.#now = opts.now ?? Date.now;
  }

  /** Looks for due deliveries soon (new events were written, a retry was asked for). */
  wake(): void {
    if (this.#closed || this.#woken) return;
    this.#woken = true;
    setImmediate(() => {
      this.#woken = false;
      this.#poll();
    }).unref();
  }

  /** Resolves when each delivery has had an attempt (or after `timeoutMs`). */
  async attempted(ids: readonly number[], timeoutMs: number): Promise<void> {
    const waits = ids.map((id) => new Promise<void>((resolve) => this.#waiters.set(id, [...(this.#waiters.get(id) ?? []), resolve])));
    this.wake();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(waits), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    for (const id of ids) this.#waiters.delete(id);
  }

  /** Stops taking deliveries; running attempts are cut short and stay pending (they run again after a restart). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#abort.abort();
    await Promise.race([Promise.allSettled([...this.#running]), new Promise((r) => setTimeout(r, 2_000).unref())]);
  }

  #poll(): void {
    if (this.#closed) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    try {
      const now = this.#now();
      let free = this.#concurrency - this.#inflight.size;
      // Actions at their cap are left out in the query: however many of their deliveries are due, they do not
      // hide the others'. Starting one can bring its action to the cap, so ask again until nothing more starts.
      while (free > 0) {
        let started = 0;
        for (const delivery of this.opts.store.due(now, free, this.#inflight, this.#busyActions())) {
          if (free === 0) break;
          if (this.#inflight.has(delivery.id)) continue; // already in a digest started just before
          if ((this.#perAction.get(actionKey(delivery)) ?? 0) >= PER_ACTION) continue; // reached its cap in this round
          this.#start(delivery);
          free--;
          started++;
        }
        if (started === 0) break;
      }
      const next = this.opts.store.nextDueAt(this.#inflight, this.#busyActions());
      // Due now but every slot is busy: the next attempt to finish wakes us (as it does for an action at its cap).
      if (next !== null && next <= now) {
        this.#timer = setTimeout(() => this.#poll(), IDLE_POLL_MS).unref();
        return;
      }
      const wait = next === null ? IDLE_POLL_MS : Math.min(Math.max(next - now, 20), IDLE_POLL_MS);
      this.#timer = setTimeout(() => this.#poll(), wait).unref();
    } catch (error) {
      this.opts.onError?.(error);
      this.#timer = setTimeout(() => this.#poll(), 5_000).unref();
    }
  }

  /** The actions running as many attempts as they may. */
  #busyActions(): ActionRef[] {
    const busy: ActionRef[] = [];
    for (const [key, n] of this.#perAction) {
      if (n < PER_ACTION) continue;
      const at = key.indexOf(':');
      busy.push({ ruleId: at === 0 ? null : Number(key.slice(0, at)), actionId: key.slice(at + 1) });
    }
    return busy;
  }

  #start(delivery: DeliveryRecord): void {
    let batch = [delivery];
    const rule = delivery.ruleId === null ? undefined : this.opts.rule(delivery.ruleId);
    const action = rule?.actions.find((a) => a.id === delivery.actionId);
    if (action?.kind === 'email' && action.digestMinutes && delivery.ruleId !== null && !delivery.event.test) {
      const now = this.#now();
      batch = this.opts.store
        .pendingOf(delivery.ruleId, delivery.actionId, DIGEST_MAX)
        .filter((d) => d.id === delivery.id || (!this.#inflight.has(d.id) && (d.nextAttemptAt ?? 0) <= now && !d.event.test));
    }
    for (const d of batch) this.#inflight.add(d.id);
    const key = actionKey(delivery);
    this.#perAction.set(key, (this.#perAction.get(key) ?? 0) + 1);
    const run = this.#attempt(batch, rule)
      .catch((error: unknown) => this.opts.onError?.(error))
      .finally(() => {
        const left = (this.#perAction.get(key) ?? 1) - 1;
        if (left > 0) this.#perAction.set(key, left);
        else this.#perAction.delete(key);
        for (const d of batch) this.#inflight.delete(d.id);
        this.#running.delete(run);
        this.wake();
      });
    this.#running.add(run);
  }

  async #attempt(batch: DeliveryRecord[], rule: RuleDefinition | undefined): Promise<void> {
    const [first] = batch as [DeliveryRecord];
    const action = rule?.actions.find((a) => a.id === first.actionId);
    const event = (d: DeliveryRecord): Event => ({ ...d.event, type: d.event.type as EventType });
    let attempt: Attempt;
    if (!rule || !action) {
      attempt = { ok: false, code: null, output: null, error: 'The rule or its action no longer exists', permanent: true };
    } else {
      const out: Outgoing = { event: event(first), secret: rule.secret, userAgent: this.opts.userAgent };
      const signal = this.#abort.signal;
      switch (action.kind) {
        case 'webhook':
          attempt = await sendWebhook(action, out, signal);
          break;
        case 'command':
          attempt = (this.opts.commands ?? []).includes(path.resolve(action.command))
            ? await runCommand(action, out, signal)
            : {
                ok: false,
                code: null,
                output: null,
                error: `${action.command} is no longer allowed by FERRY_EVENT_COMMANDS`,
                permanent: true,
              };
          break;
        case 'email':
          attempt = await this.opts.mailer.send(action as EmailAction, batch.map(event), signal);
          break;
      }
    }
    if (this.#abort.signal.aborted) return; // shutting down: left pending, tried again after the restart
    const at = this.#now();
    for (const d of batch) {
      const next = attempt.ok || attempt.permanent ? null : nextAttemptAt(this.#retry, d.attempts + 1, d.event.occurredAt, at);
      this.opts.store.recordAttempt(
        d.id,
        { at, error: attempt.error, code: attempt.code, output: attempt.output },
        attempt.ok ? { delivered: true } : { delivered: false, next },
      );
      this.opts.onAttempt?.(d.actionKind, attempt.ok ? 'delivered' : next === null ? 'failed' : 'retry', d, attempt);
      for (const resolve of this.#waiters.get(d.id) ?? []) resolve();
      this.#waiters.delete(d.id);
    }
  }
}

/** An action of a rule, as the store's `due` takes them to leave out. */
type ActionRef = NonNullable<Parameters<EventStore['due']>[3]>[number];

const actionKey = (d: DeliveryRecord) => `${d.ruleId ?? ''}:${d.actionId}`;
