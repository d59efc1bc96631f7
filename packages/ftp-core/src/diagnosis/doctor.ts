/**
 * The transcript doctor: feeds a session's transcript lines, in order, through every rule and
 * keeps one finding per code with its accumulated evidence.
 *
 * `createSessionDoctor` is for live sessions (push each line as it is emitted, stream what push
 * returns); `diagnose` is the same thing over a recorded transcript. Both give the same findings.
 */
import type { TranscriptLine } from '../events.js';
import { SessionFacts } from './facts.js';
import { keptEvidence } from './rules/common.js';
import { dataAttempts } from './rules/data-attempts.js';
import { RULES } from './rules/index.js';
import type { DiagnosisContext, Finding, FindingDraft, FindingSink, Rule, SessionCloseInfo } from './types.js';

export interface SessionDoctor {
  /** Reads the next line; returns the findings that appeared for the first time because of it. */
  push(line: TranscriptLine): Finding[];
  /** Every finding so far, in order of appearance, with all evidence accumulated. */
  findings(): Finding[];
  /**
   * Findings that had appeared before and changed since the last call (a warning that became an error,
   * another failed port named, more evidence): what a live view must replace.
   */
  takeRevised(): Finding[];
  /**
   * Settles what is still pending (a data connection still awaited when the session ended) and
   * returns the findings that appeared for the first time. Lines pushed afterwards are ignored.
   */
  finish(closeInfo?: SessionCloseInfo): Finding[];
}

function sameLines(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

class FindingBook implements FindingSink {
  readonly #byCode = new Map<string, Finding>();
  #fresh: Finding[] = [];
  readonly #revised = new Set<string>();

  report(draft: FindingDraft, evidence: readonly number[]): void {
    const existing = this.#byCode.get(draft.code);
    if (!existing) {
      const finding: Finding = { ...draft, evidence: keptEvidence(evidence) };
      this.#byCode.set(draft.code, finding);
      this.#fresh.push(finding);
      return;
    }
    // Same cause again: keep when it first showed, merge evidence, and take the rule's latest wording and
    // severity. Rules keep what they learned, so the latest report is the whole picture: it names every
    // failed port seen so far, or turns an error into a warning once the data connection did arrive.
    const merged = keptEvidence([...existing.evidence, ...evidence]);
    const changed =
      existing.title !== draft.title ||
      existing.explanation !== draft.explanation ||
      existing.fix !== draft.fix ||
      existing.severity !== draft.severity ||
      !sameLines(existing.evidence, merged);
    if (!changed) return;
    existing.title = draft.title;
    existing.explanation = draft.explanation;
    existing.fix = draft.fix;
    existing.severity = draft.severity;
    existing.evidence = merged;
    if (!this.#fresh.includes(existing)) this.#revised.add(existing.code);
  }

  takeRevised(): Finding[] {
    if (this.#revised.size === 0) return []; // the common case, on every line: no copies
    const revised = [...this.#revised].map((code) => copy(this.#byCode.get(code)!));
    this.#revised.clear();
    return revised;
  }

  takeFresh(): Finding[] {
    if (this.#fresh.length === 0) return [];
    const fresh = this.#fresh.map(copy);
    this.#fresh = [];
    return fresh;
  }

  all(): Finding[] {
    return [...this.#byCode.values()].map(copy);
  }
}

function copy(finding: Finding): Finding {
  return { ...finding, evidence: [...finding.evidence] };
}

export function createSessionDoctor(ctx: DiagnosisContext): SessionDoctor {
  const facts = new SessionFacts(ctx);
  const rules: Rule[] = RULES.map((create) => create({ ctx }));
  const attempts = dataAttempts();
  const book = new FindingBook();
  let lastSeq = 0;
  let lastAt = 0;
  let finished = false;

  return {
    push(line) {
      // Lines are strictly increasing; a replayed or late line must not double-count evidence.
      if (finished || line.seq <= lastSeq) return [];
      lastSeq = line.seq;
      lastAt = Math.max(lastAt, line.at);
      facts.update(line);
      const observation = { line, facts, dataEnded: attempts.observe(line, facts) };
      for (const rule of rules) rule.observe(observation, book);
      return book.takeFresh();
    },
    findings: () => book.all(),
    takeRevised: () => book.takeRevised(),
    finish(closeInfo) {
      if (finished) return [];
      finished = true;
      const at = closeInfo?.endedAt ?? Math.max(lastAt, ctx.now());
      for (const rule of rules) rule.finish?.({ at, facts }, book);
      return book.takeFresh();
    },
  };
}

/**
 * Diagnoses a recorded transcript. Lines must be one session's, in any order (they are sorted by
 * seq). The session is treated as over at `ctx.now()` unless its last line is later.
 */
export function diagnose(lines: readonly TranscriptLine[], ctx: DiagnosisContext): Finding[] {
  const doctor = createSessionDoctor(ctx);
  for (const line of [...lines].sort((a, b) => a.seq - b.seq)) doctor.push(line);
  doctor.finish();
  return doctor.findings();
}
