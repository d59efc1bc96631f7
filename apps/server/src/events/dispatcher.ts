/**
 * The delivery worker: takes due deliveries from the outbox, runs their actions (a bounded number at a time)
 * and records every attempt. Nothing is kept only in memory: a delivery is pending in SQLite until an attempt
 * succeeds or it is given up, so a restart (or kill -9) resumes where the last run stopped. A delivery whose
 * attempt was cut short by a crash, or ended too shortly before it to be recorded (RECORD_MS), is sent again with
 * the same event id: at least once, deduplicated by id.
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
  /** This node's name: on PostgreSQL, shared with other nodes, what this dispatcher takes is claimed under it. */
  node?: string;
  now?: () => number;
  onAttempt?: (kind: string, outcome: AttemptOutcome, delivery: DeliveryRecord, attempt: Attempt) => void;
  onError?: (error: unknown) => void;
}

/** Attempts running at once for one action: a receiver that hangs holds these slots, not everyone's. */
const PER_ACTION = 4;
/** Due deliveries taken from the database at once, queued per action at most, and in all. */
const BATCH = 64;
const PER_ACTION_QUEUE = 64;
const MAX_QUEUED = 512;
/** Longest sleep between two looks at the outbox, in case a wake-up was missed. */
const IDLE_POLL_MS = 30_000;
/**
 * How long a delivery taken on PostgreSQL stays this node's before any node may take it again, should its attempt
 * never be recorded (a node that crashed is released sooner: when it starts again or another finds it lost).
 */
const CLAIM_MS = 3_600_000;
/** Events one digest e-mail carries at most (the rest go in the next). */
const DIGEST_MAX = 200;
/**
 * Finished attempts are recorded together, this long after the first of them at most (or as soon as RECORD_BATCH
 * wait): one transaction for many deliveries rather than one per turn of the event loop. A crash in between sends
 * those deliveries again, with the same event ids.
 */
const RECORD_MS = 20;
const RECORD_BATCH = 64;

export class EventDispatcher {
  readonly #inflight = new Set<number>();
  /** Attempts running per action (`ruleId:actionId`). */
  readonly #perAction = new Map<string, number>();
  readonly #running = new Set<Promise<void>>();
  readonly #waiters = new Map<number, (() => void)[]>();
  /** Finished attempts waiting to be recorded (their deliveries stay in flight until then; their slots are free). */
  readonly #completed: { batch: DeliveryRecord[]; attempt: Attempt }[] = [];
  #recordTimer: NodeJS.Timeout | null = null;
  /** The last look at the outbox may have left due deliveries behind (it took as many as it could). */
  #moreDue = false;
  /** Due deliveries taken from the database, waiting for a slot, per action (`ruleId:actionId`). */
  readonly #queued = new Map<string, DeliveryRecord[]>();
  #queuedCount = 0;
  readonly #abort = new AbortController();
  readonly #retry: RetryPolicy;
  readonly #concurrency: number;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | null = null;
  #woken = false;
  /** A poll is reading the database; a wake meanwhile polls again once it is done. */
  #polling = false;
  #pollAgain = false;
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
    // A timer, not an unref'd immediate: that would wait for the loop's next I/O when called from a timer's callback.
    setTimeout(() => {
      this.#woken = false;
      void this.#poll();
    }, 0).unref();
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
    // Attempts that finished before the stop are recorded now, not sent again after the restart.
    if (this.#recordTimer) clearTimeout(this.#recordTimer);
    this.#recordTimer = null;
    await this.#record();
  }

  /** One poll at a time: two could both take a delivery the other has not marked in flight yet. */
  async #poll(): Promise<void> {
    if (this.#closed) return;
    if (this.#polling) {
      this.#pollAgain = true;
      return;
    }
    this.#polling = true;
    try {
      await this.#pollOnce();
    } finally {
      this.#polling = false;
    }
    if (this.#pollAgain) {
      this.#pollAgain = false;
      this.wake();
    }
  }

  async #pollOnce(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    try {
      const now = this.#now();
      // Due deliveries are taken from the database in batches and queued here per action, so that a busy action
      // costs one query per batch rather than one per delivery. Queued ones count as taken (the query leaves them
      // out); an action whose queue is full is left out too, so its backlog does not hide the others'.
      const room = MAX_QUEUED - this.#queuedCount;
      this.#moreDue = room <= 0;
      if (room > 0) {
        const claim = this.opts.node === undefined ? undefined : { node: this.opts.node, until: now + CLAIM_MS };
        const full: number[] = [];
        const busy = this.#fullActions();
        const limit = Math.min(room, BATCH);
        const taken = await this.opts.store.due(now, limit, this.#inflight, busy, claim);
        // Only then is it worth looking again as soon as the queues run low; otherwise new events wake the
        // dispatcher, and the timer below is set for the next retry.
        this.#moreDue = taken.length === limit || busy.length > 0;
        for (const delivery of taken) {
          if (this.#inflight.has(delivery.id)) continue; // in a digest started just before
          const key = actionKey(delivery);
          const queue = this.#queued.get(key) ?? [];
          if (queue.length >= PER_ACTION_QUEUE) {
            full.push(delivery.id); // read again once the queue has room (given back first when it was claimed)
            continue;
          }
          queue.push(delivery);
          this.#queued.set(key, queue);
          this.#inflight.add(delivery.id);
          this.#queuedCount++;
        }
        if (full.length > 0) this.#moreDue = true;
        await this.#giveBack(full);
      }
      this.#startQueued();
      // Finishing attempts start the queued ones and look again when the queues run low; the timer is for
      // retries that fall due meanwhile (and due ones held back by a full queue: at most a second later).
      const next = await this.opts.store.nextDueAt(this.#inflight, this.#fullActions());
      const wait = next === null ? IDLE_POLL_MS : Math.min(Math.max(next - now, next <= now ? 1_000 : 20), IDLE_POLL_MS);
      if (!this.#closed) this.#timer = setTimeout(() => void this.#poll(), wait).unref();
    } catch (error) {
      this.opts.onError?.(error);
      if (!this.#closed) this.#timer = setTimeout(() => void this.#poll(), 5_000).unref();
    }
  }

  /** Starts queued deliveries while there are free slots and their actions are under their cap. */
  #startQueued(): void {
    for (const [key, queue] of this.#queued) {
      while (queue.length > 0 && this.#running.size < this.#concurrency && (this.#perAction.get(key) ?? 0) < PER_ACTION) {
        const delivery = queue.shift() as DeliveryRecord;
        this.#queuedCount--;
        this.#start(delivery); // stays in flight
      }
      if (queue.length === 0) this.#queued.delete(key);
    }
  }

  /** Forgets the queued deliveries (the rules changed): they are read again, as they are now. */
  dropQueued(): void {
    const dropped: number[] = [];
    for (const queue of this.#queued.values()) for (const d of queue) dropped.push(d.id);
    this.#queued.clear();
    this.#queuedCount = 0;
    // Claimed on PostgreSQL: given back before they are forgotten here, or no node would take them until the claim ends.
    void this.#giveBack(dropped).finally(() => {
      for (const id of dropped) this.#inflight.delete(id);
      this.wake();
    });
  }

  /** Gives back claimed deliveries this dispatcher will not attempt now (PostgreSQL; nothing to do on SQLite). */
  async #giveBack(ids: readonly number[]): Promise<void> {
    if (this.opts.node === undefined || ids.length === 0) return;
    try {
      await this.opts.store.release(ids, this.opts.node, this.#now());
    } catch (error) {
      this.opts.onError?.(error);
    }
  }

  /** The actions whose queue is full. */
  #fullActions(): ActionRef[] {
    const full: ActionRef[] = [];
    for (const [key, queue] of this.#queued) {
      if (queue.length < PER_ACTION_QUEUE) continue;
      const at = key.indexOf(':');
      full.push({ ruleId: at === 0 ? null : Number(key.slice(0, at)), actionId: key.slice(at + 1) });
    }
    return full;
  }

  /** Takes a slot of the delivery's action now (#startQueued counts it at once) and attempts it, as part of its digest if it has one. */
  #start(delivery: DeliveryRecord): void {
    let batch = [delivery];
    const rule = delivery.ruleId === null ? undefined : this.opts.rule(delivery.ruleId);
    const key = actionKey(delivery);
    this.#perAction.set(key, (this.#perAction.get(key) ?? 0) + 1);
    const action = rule?.actions.find((a) => a.id === delivery.actionId);
    const digest = action?.kind === 'email' && !!action.digestMinutes && delivery.ruleId !== null && !delivery.event.test;
    // A digest takes its action's queued deliveries now, before #startQueued could start them one by one.
    const claimed = digest ? this.#claimQueued(key) : [];
    // A delivery stays in flight until its attempt is recorded: taken again before that, it would be sent twice.
    const run = (async () => {
      if (digest) batch = await this.#digestOf(delivery, claimed);
      return this.#attempt(batch, rule);
    })()
      .then(
        (attempt) => {
          this.#freeSlot(key);
          if (attempt) {
            this.#completed.push({ batch, attempt });
            this.#recordSoon();
          } else this.#leave(batch);
        },
        (error: unknown) => {
          this.opts.onError?.(error);
          this.#freeSlot(key);
          void this.#giveBack(batch.map((d) => d.id)).finally(() => this.#leave(batch));
        },
      )
      .finally(() => {
        this.#running.delete(run);
        if (!this.#closed) this.#startQueued();
      });
    this.#running.add(run);
  }

  /** Takes the action's queued deliveries out of its queue (they stay in flight). */
  #claimQueued(key: string): DeliveryRecord[] {
    const queue = this.#queued.get(key) ?? [];
    this.#queued.delete(key); // in place of splicing: #startQueued may be walking this queue, and finds it empty
    const claimed = queue.splice(0);
    this.#queuedCount -= claimed.length;
    return claimed;
  }

  /** An e-mail digest: every due delivery of the action (at most DIGEST_MAX), those `claimed` from its queue included. */
  async #digestOf(delivery: DeliveryRecord, claimed: readonly DeliveryRecord[]): Promise<DeliveryRecord[]> {
    const pending = await this.opts.store.pendingOf(delivery.ruleId as number, delivery.actionId, DIGEST_MAX);
    const now = this.#now();
    const mine = new Set(claimed.map((d) => d.id));
    const batch = pending.filter(
      (d) => d.id === delivery.id || mine.has(d.id) || (!this.#inflight.has(d.id) && (d.nextAttemptAt ?? 0) <= now && !d.event.test),
    );
    for (const d of batch) this.#inflight.add(d.id);
    // Claimed but beyond this digest's size: queued again, for the next one.
    const taken = new Set(batch.map((d) => d.id));
    const left = claimed.filter((d) => !taken.has(d.id));
    if (left.length > 0) {
      const key = actionKey(delivery);
      this.#queued.set(key, [...left, ...(this.#queued.get(key) ?? [])]);
      this.#queuedCount += left.length;
    }
    return batch;
  }

  /** An attempt of the action (`ruleId:actionId`) is over: its slot is free for the next. */
  #freeSlot(key: string): void {
    const left = (this.#perAction.get(key) ?? 1) - 1;
    if (left > 0) this.#perAction.set(key, left);
    else this.#perAction.delete(key);
  }

  /** The deliveries are no longer in flight: a later look at the outbox may take them again. */
  #leave(batch: readonly DeliveryRecord[]): void {
    for (const d of batch) this.#inflight.delete(d.id);
  }

  /** Records the finished attempts RECORD_MS after the first of them, or at once when RECORD_BATCH wait. */
  #recordSoon(): void {
    const full = this.#completed.length >= RECORD_BATCH;
    if (this.#recordTimer !== null) {
      if (!full) return;
      clearTimeout(this.#recordTimer);
    }
    this.#recordTimer = setTimeout(
      () => {
        this.#recordTimer = null;
        void this.#record();
      },
      full ? 0 : RECORD_MS,
    ).unref();
  }

  async #record(): Promise<void> {
    const done = this.#completed.splice(0);
    if (done.length === 0) return;
    const at = this.#now();
    const rows = done.flatMap(({ batch, attempt }) =>
      batch.map((d) => {
        const next = attempt.ok || attempt.permanent ? null : nextAttemptAt(this.#retry, d.attempts + 1, d.event.occurredAt, at);
        return { d, attempt, next };
      }),
    );
    try {
      await this.opts.store.recordAttempts(
        rows.map(({ d, attempt, next }) => ({
          id: d.id,
          result: { at, error: attempt.error, code: attempt.code, output: attempt.output },
          outcome: attempt.ok ? ({ delivered: true } as const) : ({ delivered: false, next } as const),
        })),
      );
    } catch (error) {
      // Not recorded: still pending in the database, so they are sent again (same event ids).
      this.opts.onError?.(error);
    }
    for (const { d, attempt, next } of rows) {
      this.opts.onAttempt?.(d.actionKind, attempt.ok ? 'delivered' : next === null ? 'failed' : 'retry', d, attempt);
      for (const resolve of this.#waiters.get(d.id) ?? []) resolve();
      this.#waiters.delete(d.id);
    }
    for (const { batch } of done) this.#leave(batch);
    // Look in the database again when the last look left due deliveries behind and the queues run low, and after
    // a failed attempt (its retry needs the timer).
    const retrying = rows.some(({ attempt, next }) => !attempt.ok && next !== null);
    if ((this.#moreDue && this.#queuedCount < BATCH / 2) || retrying) this.wake();
  }

  /** Runs the action; null when Ferry is shutting down (the delivery stays pending, tried again after the restart). */
  async #attempt(batch: DeliveryRecord[], rule: RuleDefinition | undefined): Promise<Attempt | null> {
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
    return this.#abort.signal.aborted ? null : attempt;
  }
}

/** An action of a rule, as the store's `due` takes them to leave out. */
type ActionRef = NonNullable<Parameters<EventStore['due']>[3]>[number];

const actionKey = (d: DeliveryRecord) => `${d.ruleId ?? ''}:${d.actionId}`;
