/**
 * Turns what happened into events for the rules that want them, and writes them to the outbox with one
 * delivery per action. Events of FTP sessions ride in the session recorder's next transaction (with the
 * transcript lines that caused them); the others are written at once, inside the caller's transaction when
 * there is one (an audit entry's event commits or rolls back with the change it describes).
 */
import { randomUUID } from 'node:crypto';
import type { EventAction, EventType } from '@ferry/contract';
import type { EventStore, OutboxEvent, SessionRecorder } from '@ferry/db';
import type { RuleDefinition, RuleMatcher } from './matching.js';

export interface OutboxOptions {
  store: EventStore;
  recorder: SessionRecorder;
  matcher: RuleMatcher;
  now?: () => number;
  /** After events were written outside the recorder (the dispatcher looks for due deliveries). */
  onWritten?: () => void;
  /** Counts matched events by type (metrics). */
  onMatched?: (type: EventType) => void;
}

/** What the delivery log shows as an action's target: never a URL's credentials or query (they may hold tokens). */
export function actionTarget(action: EventAction): string {
  switch (action.kind) {
    case 'webhook':
      try {
        const url = new URL(action.url);
        return `${url.origin}${url.pathname}`;
      } catch {
        return action.url;
      }
    case 'email':
      return action.to.join(', ');
    case 'command':
      return [action.command, ...(action.args ?? [])].join(' ');
  }
}

/** When a delivery is first due: now, or the end of the current digest window for an e-mail digest. */
export function firstDue(action: EventAction, now: number): number {
  if (action.kind !== 'email' || !action.digestMinutes) return now;
  const window = action.digestMinutes * 60_000;
  return Math.ceil((now + 1) / window) * window;
}

export class EventOutbox {
  readonly #now: () => number;
  /** Each action's target, worked out once per action (a rule's actions are replaced, never changed, when it is saved). */
  readonly #targets = new WeakMap<EventAction, string>();

  constructor(private readonly opts: OutboxOptions) {
    this.#now = opts.now ?? Date.now;
  }

  /** Whether an enabled rule takes this type: sources check it before building an event's data. */
  wants(type: EventType): boolean {
    return this.opts.matcher.wants(type);
  }

  /** An event of an FTP session: written with the session's transcript. */
  session(type: EventType, data: Record<string, unknown>): void {
    const event = this.#build(type, data);
    if (event) this.opts.recorder.event(event);
  }

  /** Any other event: written now. */
  async direct(type: EventType, data: Record<string, unknown>): Promise<void> {
    const event = this.#build(type, data);
    if (!event) return;
    await this.opts.store.enqueue(event);
    this.opts.onWritten?.();
  }

  /**
   * The event for the rules that match, for a caller that writes it in its own transaction (an audit entry's
   * admin.changed); null when no rule takes it. `written()` once it is stored.
   */
  prepare(type: EventType, data: Record<string, unknown>): OutboxEvent | null {
    return this.#build(type, data);
  }

  /** Wakes the delivery worker for events written through prepare(). */
  written(): void {
    this.opts.onWritten?.();
  }

  /** A test event for one rule: every action, due now, whatever the filters and digests. */
  async test(rule: RuleDefinition, type: EventType, data: Record<string, unknown>): Promise<OutboxEvent> {
    const now = this.#now();
    const event: OutboxEvent = {
      id: randomUUID(),
      type,
      occurredAt: now,
      test: true,
      data,
      deliveries: rule.actions.map((action) => this.#delivery(rule, action, now)),
    };
    await this.opts.store.enqueue(event);
    return event;
  }

  #build(type: EventType, data: Record<string, unknown>): OutboxEvent | null {
    const rules = this.opts.matcher.match(type, data);
    if (rules.length === 0) return null;
    this.opts.onMatched?.(type);
    const now = this.#now();
    return {
      id: randomUUID(),
      type,
      occurredAt: now,
      test: false,
      data,
      deliveries: rules.flatMap((rule) => rule.actions.map((action) => this.#delivery(rule, action, firstDue(action, now)))),
    };
  }

  #targetOf(action: EventAction): string {
    let target = this.#targets.get(action);
    if (target === undefined) this.#targets.set(action, (target = actionTarget(action)));
    return target;
  }

  #delivery(rule: RuleDefinition, action: EventAction, due: number): OutboxEvent['deliveries'][number] {
    return {
      ruleId: rule.id,
      ruleName: rule.name,
      actionId: action.id ?? '',
      actionKind: action.kind,
      target: this.#targetOf(action),
      nextAttemptAt: due,
    };
  }
}
