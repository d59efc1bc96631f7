/**
 * Shell-style name patterns for NLST and LIST (`*.txt`, `report-??.csv`, `[a-c]*`, `[!.]*`), matched
 * against one name at a time. Patterns are never compiled to regular expressions: the matcher below walks
 * the name once and, on a mismatch, only goes back to the most recent `*`, so its work is bounded by
 * (name length × pattern length) whatever the pattern (no catastrophic backtracking).
 *
 * Syntax (as fnmatch(3) without flags, plus FNM_PERIOD):
 * - `*` any run of characters, `?` any one character;
 * - `[abc]`, `[a-z]`, `[!a-z]` or `[^a-z]` one character from (or not from) a set; a `]` right after the
 *   opening bracket (or its `!`/`^`) is a member; a `[` without a closing `]` is an ordinary character;
 * - `\x` the character x itself, outside and inside brackets;
 * - a name that starts with `.` is matched only by a pattern that starts with a literal `.`, as in the shell.
 * Characters are Unicode code points, so `?` matches one `é` or one emoji.
 */

type Token =
  { kind: 'star' } | { kind: 'any' } | { kind: 'char'; char: string } | { kind: 'set'; negate: boolean; ranges: Array<[number, number]> };

/** Whether a path segment is a pattern (has `*`, `?` or `[`) rather than a plain name. */
export function hasGlob(segment: string): boolean {
  return /[*?[]/.test(segment);
}

/** A predicate for names matched by `pattern` (one path segment). */
export function compileGlob(pattern: string): (name: string) => boolean {
  const tokens = tokenize(Array.from(pattern));
  const fixed = tokens.filter((t) => t.kind !== 'star').length;
  const dotExplicit = tokens[0]?.kind === 'char' && tokens[0].char === '.';
  return (name) => {
    if (name.startsWith('.') && !dotExplicit) return false;
    const chars = Array.from(name);
    // Every token but `*` consumes exactly one character: a longer pattern cannot match.
    if (fixed > chars.length) return false;
    return matchTokens(tokens, chars);
  };
}

function tokenize(chars: readonly string[]): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '*') {
      // `**` is `*`: collapsing keeps the token count, and so the matcher's work, proportional to the name.
      if (tokens[tokens.length - 1]?.kind !== 'star') tokens.push({ kind: 'star' });
    } else if (c === '?') {
      tokens.push({ kind: 'any' });
    } else if (c === '[') {
      const set = bracket(chars, i + 1);
      if (set) {
        tokens.push(set.token);
        i = set.end;
      } else {
        tokens.push({ kind: 'char', char: '[' });
      }
    } else if (c === '\\' && i + 1 < chars.length) {
      tokens.push({ kind: 'char', char: chars[++i]! });
    } else {
      tokens.push({ kind: 'char', char: c });
    }
  }
  return tokens;
}

/** Parses a bracket expression whose body starts at `start`; null when it is never closed. */
function bracket(chars: readonly string[], start: number): { token: Token; end: number } | null {
  let i = start;
  const negate = chars[i] === '!' || chars[i] === '^';
  if (negate) i++;
  const ranges: Array<[number, number]> = [];
  let first = true;
  while (i < chars.length) {
    let c = chars[i]!;
    if (c === ']' && !first) return { token: { kind: 'set', negate, ranges }, end: i };
    first = false;
    if (c === '\\' && i + 1 < chars.length) c = chars[++i]!;
    const lo = c.codePointAt(0)!;
    // `a-z` is a range; a `-` first or last in the set is itself.
    if (chars[i + 1] === '-' && i + 2 < chars.length && chars[i + 2] !== ']') {
      let hiChar = chars[i + 2]!;
      i += 2;
      if (hiChar === '\\' && i + 1 < chars.length) hiChar = chars[++i]!;
      ranges.push([lo, hiChar.codePointAt(0)!]);
    } else {
      ranges.push([lo, lo]);
    }
    i++;
  }
  return null;
}

function matchOne(token: Token, char: string): boolean {
  switch (token.kind) {
    case 'any':
      return true;
    case 'char':
      return token.char === char;
    case 'set': {
      const cp = char.codePointAt(0)!;
      const inSet = token.ranges.some(([lo, hi]) => cp >= lo && cp <= hi);
      return inSet !== token.negate;
    }
    case 'star':
      return false;
  }
}

/**
 * The classic wildcard walk: advance on a match; on a mismatch, let the last `*` swallow one more
 * character and retry from just after it. Going back further is never needed, because a later `*` can
 * absorb anything an earlier one could.
 */
function matchTokens(tokens: readonly Token[], name: readonly string[]): boolean {
  let t = 0;
  let n = 0;
  let starToken = -1;
  let starName = 0;
  while (n < name.length) {
    const token = tokens[t];
    if (token?.kind === 'star') {
      starToken = t++;
      starName = n;
    } else if (token && matchOne(token, name[n]!)) {
      t++;
      n++;
    } else if (starToken >= 0) {
      t = starToken + 1;
      n = ++starName;
    } else {
      return false;
    }
  }
  while (tokens[t]?.kind === 'star') t++;
  return t === tokens.length;
}
