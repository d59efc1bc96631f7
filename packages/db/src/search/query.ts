/**
 * The history search box's words turned into an FTS5 query that can never be a syntax error, and the matched
 * words found again in a line's text for highlighting (marks), both with the tokenizer's own idea of a word:
 * unicode61 keeps runs of letters and digits and splits on everything else, so `invoice-2291.pdf` is the
 * phrase `invoice 2291 pdf`.
 */

/** A run of letters, digits, combining marks or private-use characters: a token of FTS5's unicode61 tokenizer. */
const WORD = /[\p{L}\p{N}\p{M}\p{Co}]+/gu;

/** One search term: its tokens in order, and whether its last token is a prefix (`invoi*`). */
export interface SearchTerm {
  tokens: string[];
  prefix: boolean;
}

/** unicode61 with remove_diacritics 2 folds case and strips diacritics. */
export const foldWord = (word: string) =>
  word
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase();

/**
 * Splits user input into terms: `"a phrase"` (a closing quote may be missing), or a run without spaces; a trailing
 * `*` makes the term a prefix. Terms without any letter or digit are dropped.
 */
export function parseSearch(input: string): SearchTerm[] {
  const terms: SearchTerm[] = [];
  const pattern = /"([^"]*)"?(\*?)|(\S+)/g;
  for (const m of input.matchAll(pattern)) {
    const raw = m[1] ?? m[3] ?? '';
    const prefix = m[1] !== undefined ? m[2] === '*' : raw.endsWith('*');
    const tokens = (raw.match(WORD) ?? []).map(foldWord).filter((t) => t.length > 0);
    if (tokens.length > 0) terms.push({ tokens, prefix });
  }
  return terms;
}

/** An FTS5 MATCH expression: every term must occur (AND); each is a quoted phrase, so no input is FTS syntax. */
export function toFtsQuery(terms: readonly SearchTerm[]): string {
  return terms.map((t) => `"${t.tokens.join(' ')}"${t.prefix ? '*' : ''}`).join(' ');
}

export interface Mark {
  start: number;
  end: number;
}

/** [start, end) offsets (UTF-16) of the words of `text` that a term's tokens match, in order. */
export function findMarks(text: string, terms: readonly SearchTerm[]): Mark[] {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const term of terms) {
    term.tokens.forEach((token, i) => {
      if (term.prefix && i === term.tokens.length - 1) prefixes.push(token);
      else exact.add(token);
    });
  }
  const marks: Mark[] = [];
  for (const m of text.matchAll(WORD)) {
    const word = foldWord(m[0]);
    if (exact.has(word) || prefixes.some((p) => word.startsWith(p))) marks.push({ start: m.index, end: m.index + m[0].length });
  }
  return marks;
}

/** Longest excerpt of a line; longer lines are cut around their first mark. */
const EXCERPT_CHARS = 200;
/** How much text before the first mark an excerpt keeps. */
const LEAD_CHARS = 60;

/** The line, or a window of it around its first mark, with the marks moved into the excerpt's offsets. */
export function excerptOf(text: string, terms: readonly SearchTerm[]): { excerpt: string; marks: Mark[] } {
  const marks = findMarks(text, terms);
  if (text.length <= EXCERPT_CHARS) return { excerpt: text, marks };
  let start = Math.max(0, (marks[0]?.start ?? 0) - LEAD_CHARS);
  let end = Math.min(text.length, start + EXCERPT_CHARS);
  // Never cut a surrogate pair in half.
  if (start > 0 && /[\uDC00-\uDFFF]/.test(text[start] ?? '')) start--;
  if (end < text.length && /[\uDC00-\uDFFF]/.test(text[end] ?? '')) end++;
  const lead = start > 0 ? '…' : '';
  const tail = end < text.length ? '…' : '';
  const shift = lead.length - start;
  return {
    excerpt: `${lead}${text.slice(start, end)}${tail}`,
    marks: marks.filter((m) => m.start >= start && m.end <= end).map((m) => ({ start: m.start + shift, end: m.end + shift })),
  };
}
