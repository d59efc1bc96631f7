/**
 * Which rules an event goes to. Rules are compiled once per change (globs, networks) and matched in memory, so an
 * event no rule wants costs a few comparisons and no write. A filter applies only to the events that carry its
 * field (EVENT_CATALOGUE[type].filters); an event then matches a rule when every filter the rule sets matches.
 */
import {
  EVENT_CATALOGUE,
  FINDING_SEVERITIES,
  type EventAction,
  type EventFilterName,
  type EventFilters,
  type EventType,
  type FindingSeverity,
} from '@ferry/contract';
import picomatch from 'picomatch';
import { createCidrMatcher } from '../net/address.js';

export interface RuleDefinition {
  id: number;
  name: string;
  enabled: boolean;
  events: readonly string[];
  filters: Partial<EventFilters>;
  actions: readonly EventAction[];
  secret: string;
}

/** The fields of an event's data the filters read. */
interface Facts {
  user: string | null;
  path: string | null;
  address: string | null;
  code: string | null;
  severity: FindingSeverity | null;
  bytes: number | null;
}

function factsOf(data: Record<string, unknown>): Facts {
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  return {
    user: str(data.user),
    path: str(data.path),
    address: str(data.clientAddress),
    code: str(data.code),
    severity: (FINDING_SEVERITIES as readonly unknown[]).includes(data.severity) ? (data.severity as FindingSeverity) : null,
    bytes: typeof data.size === 'number' ? data.size : null,
  };
}

type Test = (facts: Facts, groupsOf: (user: string) => readonly string[]) => boolean;

/** The filters a rule sets, each as a test; the names tell which event types they can apply to. */
function compileFilters(f: Partial<EventFilters>): { name: EventFilterName; test: Test }[] {
  const tests: { name: EventFilterName; test: Test }[] = [];
  if (f.users?.length) {
    const users = new Set(f.users);
    tests.push({ name: 'users', test: (x) => x.user !== null && users.has(x.user) });
  }
  if (f.groups?.length) {
    const groups = new Set(f.groups);
    tests.push({ name: 'groups', test: (x, groupsOf) => x.user !== null && groupsOf(x.user).some((g) => groups.has(g)) });
  }
  if (f.paths?.length) {
    const match = picomatch(f.paths, { dot: true, nocase: false });
    tests.push({ name: 'paths', test: (x) => x.path !== null && match(x.path) });
  }
  if (f.networks?.length) {
    const inside = createCidrMatcher(f.networks);
    tests.push({ name: 'networks', test: (x) => x.address !== null && inside(x.address) });
  }
  if (f.findingCodes?.length) {
    const codes = new Set(f.findingCodes);
    tests.push({ name: 'findingCodes', test: (x) => x.code !== null && codes.has(x.code) });
  }
  if (f.minSeverity) {
    const worst = FINDING_SEVERITIES.indexOf(f.minSeverity);
    tests.push({ name: 'minSeverity', test: (x) => x.severity !== null && FINDING_SEVERITIES.indexOf(x.severity) <= worst });
  }
  if (f.minBytes !== null && f.minBytes !== undefined) {
    const min = f.minBytes;
    tests.push({ name: 'minBytes', test: (x) => x.bytes !== null && x.bytes >= min });
  }
  return tests;
}

/** The first filter a rule sets that applies to none of its event types, or null. */
export function unusableFilter(events: readonly EventType[], filters: Partial<EventFilters>): EventFilterName | null {
  for (const { name } of compileFilters(filters)) {
    if (!events.some((type) => EVENT_CATALOGUE[type].filters.includes(name))) return name;
  }
  return null;
}

interface Compiled {
  rule: RuleDefinition;
  tests: { name: EventFilterName; test: Test }[];
}

export class RuleMatcher {
  #byType = new Map<string, Compiled[]>();
  #byId = new Map<number, RuleDefinition>();
  /** Who is in which group, read only while an enabled rule filters on groups. */
  #groups: ReadonlyMap<string, readonly string[]> = new Map();
  #needsGroups = false;
  #groupsRead = 0;

  /** `memberships` reads every user's groups (in the user's order). */
  constructor(private readonly memberships: () => Promise<ReadonlyMap<string, readonly string[]>>) {}

  /** Replaces the rules (after any change to them). */
  async load(rules: readonly RuleDefinition[]): Promise<void> {
    this.#needsGroups = rules.some((r) => r.enabled && (r.filters.groups?.length ?? 0) > 0);
    await this.refreshGroups();
    this.#byType = new Map();
    this.#byId = new Map(rules.map((r) => [r.id, r]));
    for (const rule of rules) {
      if (!rule.enabled) continue;
      const compiled = { rule, tests: compileFilters(rule.filters) };
      for (const type of rule.events) this.#byType.set(type, [...(this.#byType.get(type) ?? []), compiled]);
    }
  }

  /** Reads the group memberships again (after a change to users or groups), if a rule filters on groups. */
  async refreshGroups(): Promise<void> {
    const read = ++this.#groupsRead;
    const groups = this.#needsGroups ? await this.memberships() : new Map<string, readonly string[]>();
    // A later read that finished first has the newer memberships.
    if (read === this.#groupsRead) this.#groups = groups;
  }

  rule(id: number): RuleDefinition | undefined {
    return this.#byId.get(id);
  }

  /** Whether any enabled rule takes events of this type (a cheap check before building the data). */
  wants(type: EventType): boolean {
    return this.#byType.has(type);
  }

  /** The enabled rules this event matches. */
  match(type: EventType, data: Record<string, unknown>): RuleDefinition[] {
    const candidates = this.#byType.get(type);
    if (!candidates) return [];
    const applicable = EVENT_CATALOGUE[type].filters;
    const facts = factsOf(data);
    const groupsOf = (user: string) => this.#groups.get(user) ?? [];
    return candidates
      .filter(({ tests }) => tests.every(({ name, test }) => !applicable.includes(name) || test(facts, groupsOf)))
      .map((c) => c.rule);
  }
}
