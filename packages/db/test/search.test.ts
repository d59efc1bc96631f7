import { sql } from '../src/drizzle.js';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dialectOf, openDbWith, rowsOf, sqliteHandleOf } from '../src/client.js';
import { POSTGRES_SEARCH_VECTOR } from '../src/search/transcript-search.js';
import {
  closeDb,
  createFindingStore,
  createTranscriptStore,
  openDb,
  schemaVersion,
  createSessionRecorder,
  createSessionStore,
  pruneHistory,
  type Db,
  type FindingSeverity,
  type LineInput,
} from '../src/index.js';
import { committedTags, DATABASES, migrationsCopy, openTestDb, tempDir } from './helpers.js';

interface Seeded {
  id: string;
  startedAt: number;
  address?: string;
  user?: string;
  tls?: boolean;
  lines: string[];
}

/** Records sessions through the real recorder; each line's kind follows its text (a reply starts with a code). */
async function record(db: Db, sessions: Seeded[]): Promise<void> {
  const recorder = createSessionRecorder(db);
  for (const s of sessions) {
    recorder.sessionOpened({
      id: s.id,
      remoteAddress: s.address ?? '127.0.0.1',
      remotePort: 40_000,
      localAddress: '127.0.0.1',
      localPort: 21,
      startedAt: s.startedAt,
      tls: s.tls ?? false,
    });
    if (s.user) recorder.sessionUpdated({ id: s.id, username: s.user, tls: s.tls ?? false, clientSoftware: null });
    for (const [i, text] of s.lines.entries()) {
      const line: LineInput = {
        sessionId: s.id,
        seq: i + 1,
        at: s.startedAt + i,
        kind: /^\d{3}[ -]/.test(text) ? 'reply' : 'command',
        text,
      };
      recorder.line(line);
      // Lines queued and being written count against the queue's bound (10,000): past it they would be dropped.
      if (i % 1000 === 999) await recorder.flush();
    }
  }
  await recorder.close();
}

const count = (db: Db, sql: string, ...args: unknown[]) =>
  (
    sqliteHandleOf(db)
      .sqlite.prepare(sql)
      .get(...args) as { n: number }
  ).n;
/** Lines the full-text index finds for one word: FTS5's table on SQLite, the expression index on PostgreSQL. */
const indexed = async (db: Db, word: string): Promise<number> =>
  dialectOf(db) === 'sqlite'
    ? count(db, 'SELECT count(*) AS n FROM transcript_search WHERE transcript_search MATCH ?', word)
    : Number(
        (
          await rowsOf<{ n: number }>(
            db,
            sql`SELECT count(*)::int AS n FROM transcript_lines WHERE ${sql.raw(POSTGRES_SEARCH_VECTOR)} @@ to_tsquery('simple', ${word})`,
          )
        )[0]?.n,
      );

async function invoiceHistory(db: Db): Promise<void> {
  await record(db, [
    {
      id: 'a',
      startedAt: 1000,
      user: 'alice',
      lines: ['220 Ferry ready', 'CLNT FileZilla 3.66', 'USER alice', 'STOR invoice-2291.pdf', '226 Transfer complete'],
    },
    { id: 'b', startedAt: 2000, user: 'bob', lines: ['220 Ferry ready', 'RETR invoice-2292.pdf', '550 invoice-2292.pdf: No such file'] },
    { id: 'c', startedAt: 3000, user: 'carol', lines: ['220 Ferry ready', 'CLNT lftp/4.9.2', 'LIST'] },
  ]);
}

describe.each(DATABASES)('history search on %s', (kind) => {
  it('finds a file name whole, by its parts, by prefix and in any case, with the matching line and marks', async () => {
    const db = await openTestDb(kind);
    await invoiceHistory(db);
    const store = createSessionStore(db);
    const search = async (q: string) => (await store.history({ q, limit: 50 })).items;
    const ids = async (q: string) => (await search(q)).map((s) => s.id);

    expect(await search('invoice-2291.pdf')).toEqual([
      expect.objectContaining({
        id: 'a',
        hits: [
          {
            seq: 4,
            excerpt: 'STOR invoice-2291.pdf',
            marks: [
              { start: 5, end: 12 },
              { start: 13, end: 17 },
              { start: 18, end: 21 },
            ],
          },
        ],
      }),
    ]);
    expect(await ids('invoice')).toEqual(['b', 'a']);
    expect(await ids('2291')).toEqual(['a']);
    expect(await ids('INVOICE-2292.PDF')).toEqual(['b']);
    expect(await ids('invoi*')).toEqual(['b', 'a']);
    expect(await ids('"invoice-229"*')).toEqual(['b', 'a']);
    expect(await ids('filezilla')).toEqual(['a']);
    expect(await ids('lftp')).toEqual(['c']);
    expect(await ids('invoice 550')).toEqual(['b']);
    expect(await ids('invoice lftp')).toEqual([]);
    // Both of b's matching lines, the 550 reply with its marks.
    expect((await search('invoice-2292.pdf'))[0]?.hits).toEqual([
      {
        seq: 2,
        excerpt: 'RETR invoice-2292.pdf',
        marks: [
          { start: 5, end: 12 },
          { start: 13, end: 17 },
          { start: 18, end: 21 },
        ],
      },
      {
        seq: 3,
        excerpt: '550 invoice-2292.pdf: No such file',
        marks: [
          { start: 4, end: 11 },
          { start: 12, end: 16 },
          { start: 17, end: 20 },
        ],
      },
    ]);
    // Without q, no hits field at all.
    expect((await store.history({ limit: 50 })).items[0]).not.toHaveProperty('hits');
  });

  it('never turns input into FTS syntax: operators, quotes, brackets and stray stars are words or nothing', async () => {
    const db = await openTestDb(kind);
    await invoiceHistory(db);
    const store = createSessionStore(db);
    for (const q of [
      '"',
      'AND',
      'invoice OR',
      'NOT invoice',
      '(invoice',
      'invoice)',
      '*',
      'a"b',
      'NEAR(invoice pdf)',
      'text:invoice',
      '-invoice',
      '^invoice',
      '+',
      'invoice AND "',
    ]) {
      await expect(store.history({ q, limit: 10 }), q).resolves.toHaveProperty('items');
    }
    expect((await store.history({ q: 'NOT invoice', limit: 10 })).items).toEqual([]); // "not" is a word no line has
    expect((await store.history({ q: '(invoice', limit: 10 })).items.map((s) => s.id)).toEqual(['b', 'a']);
    expect((await store.history({ q: '***', limit: 10 })).items).toEqual([]);
  });

  it('returns at most five hits per session, the first ones, and pages with the search applied', async () => {
    const db = await openTestDb(kind);
    const sessions = Array.from({ length: 7 }, (_, i) => ({
      id: `s${i}`,
      startedAt: 1000 * (i + 1),
      lines: Array.from({ length: 8 }, (_, n) => `RETR report-${n}.csv`),
    }));
    await record(db, [...sessions, { id: 'other', startedAt: 50_000, lines: ['RETR other.txt'] }]);
    const store = createSessionStore(db);
    const first = await store.history({ q: 'report', limit: 3 });
    expect(first.items.map((s) => s.id)).toEqual(['s6', 's5', 's4']);
    expect(first.items[0]?.hits?.map((h) => h.seq)).toEqual([1, 2, 3, 4, 5]);
    const second = await store.history({ q: 'report', limit: 3, cursor: first.nextCursor ?? '' });
    expect(second.items.map((s) => s.id)).toEqual(['s3', 's2', 's1']);
    const third = await store.history({ q: 'report', limit: 3, cursor: second.nextCursor ?? '' });
    expect(third.items.map((s) => s.id)).toEqual(['s0']);
    expect(third.nextCursor).toBeNull();
  });

  it('gives the same sessions and hits for a word in more than 20,000 lines (checked per session, newest first)', async () => {
    const db = await openTestDb(kind);
    const busy = (id: string, startedAt: number) => ({
      id,
      startedAt,
      lines: ['220 Ferry ready', ...Array.from({ length: 7000 }, (_, n) => `RETR common-${n}.txt`)],
    });
    await record(db, [busy('x', 1000), { id: 'none', startedAt: 1500, lines: ['RETR rare.txt'] }, busy('y', 2000), busy('z', 3000)]);
    expect(await indexed(db, 'common')).toBe(21_000);
    const store = createSessionStore(db);
    const first = await store.history({ q: 'common', limit: 2 });
    expect(first.items.map((s) => s.id)).toEqual(['z', 'y']);
    expect(first.items[0]?.hits).toEqual(
      [2, 3, 4, 5, 6].map((seq) => ({ seq, excerpt: `RETR common-${seq - 2}.txt`, marks: [{ start: 5, end: 11 }] })),
    );
    expect((await store.history({ q: 'common', limit: 2, cursor: first.nextCursor ?? '' })).items.map((s) => s.id)).toEqual(['x']);
    expect((await store.history({ q: 'common 6999', limit: 5 })).items.map((s) => s.id)).toEqual(['z', 'y', 'x']);
    expect((await store.history({ q: 'rare', limit: 5 })).items.map((s) => s.id)).toEqual(['none']);
  }, 30_000);

  it('cuts a long line to an excerpt around its first match, with the marks moved along', async () => {
    const db = await openTestDb(kind);
    const long = `550 ${'x'.repeat(300)} needle ${'y'.repeat(300)}`;
    await record(db, [{ id: 'long', startedAt: 1, lines: [long] }]);
    const hit = (await createSessionStore(db).history({ q: 'needle', limit: 1 })).items[0]?.hits?.[0];
    expect(hit?.excerpt.startsWith('…')).toBe(true);
    expect(hit?.excerpt.endsWith('…')).toBe(true);
    expect(hit?.excerpt.length).toBe(202);
    const mark = hit?.marks[0];
    expect(hit?.excerpt.slice(mark?.start, mark?.end)).toBe('needle');
    expect(hit?.marks).toHaveLength(1);
  });

  it('loses the index entries of deleted sessions, by retention and by a direct delete (the cascade fires the trigger)', async () => {
    const db = await openTestDb(kind);
    await invoiceHistory(db);
    expect(await indexed(db, 'invoice')).toBe(3);
    await pruneHistory(db, { olderThan: 1500 }); // session a
    expect(await indexed(db, 'invoice')).toBe(2);
    expect(await indexed(db, 'filezilla')).toBe(0);
    await rowsOf(db, sql`DELETE FROM sessions WHERE id = 'b' RETURNING id`);
    expect(await indexed(db, 'invoice')).toBe(0);
    expect(await indexed(db, 'lftp')).toBe(1);
    // SQLite's index is a table of its own: it agrees with its content table row by row.
    if (kind === 'sqlite') {
      expect(() =>
        sqliteHandleOf(db).sqlite.prepare(`INSERT INTO transcript_search (transcript_search, rank) VALUES ('integrity-check', 1)`).run(),
      ).not.toThrow();
    }
    expect((await createSessionStore(db).history({ q: 'invoice', limit: 10 })).items).toEqual([]);
  });
});

describe.each(DATABASES)('history filters on %s', (kind) => {
  async function filtered(db: Db) {
    await record(db, [
      { id: 'v4', startedAt: 1000, address: '127.0.0.1', user: 'Alice', tls: true, lines: [] },
      { id: 'doc', startedAt: 2000, address: '203.0.113.7', user: 'bob', lines: [] },
      { id: 'v6', startedAt: 3000, address: '2001:db8::5', user: 'Malice', lines: [] },
      { id: 'v6b', startedAt: 4000, address: '2001:db9::1', lines: [] },
      { id: 'ten', startedAt: 5000, address: '10.1.2.3', lines: [] },
    ]);
    const findings = createFindingStore(db);
    const finding = (code: string, severity: FindingSeverity) => ({
      code,
      severity,
      title: code,
      explanation: 'e',
      fix: 'f',
      evidence: [1],
      at: 1,
    });
    await findings.replace('v4', [finding('passive-data-never-arrived', 'error'), finding('slow', 'info')]);
    await findings.replace('doc', [finding('tls-not-resumed', 'warning')]);
    await findings.replace('v6', [finding('slow', 'info')]);
  }
  const cidr = (network: string, bits: number) => `${network}/${bits}`;

  it('by user (part of the name, any case), address prefix, CIDR v4 and v6, finding, severity and worse, and TLS', async () => {
    const db = await openTestDb(kind);
    await filtered(db);
    const store = createSessionStore(db);
    const ids = async (f: Omit<Parameters<typeof store.history>[0], 'limit'>) =>
      (await store.history({ ...f, limit: 50 })).items.map((s) => s.id);
    expect(await ids({ user: 'ALICE' })).toEqual(['v6', 'v4']);
    expect(await ids({ user: 'lic' })).toEqual(['v6', 'v4']);
    expect(await ids({ user: '%' })).toEqual([]); // LIKE wildcards are literal
    expect(await ids({ addressPrefix: '127.0.0' })).toEqual(['v4']);
    expect(await ids({ addressPrefix: '203.0.113.' })).toEqual(['doc']);
    expect(await ids({ addressPrefix: '2001:db8:' })).toEqual(['v6']);
    expect(await ids({ addressIn: cidr('127.0.0.0', 8) })).toEqual(['v4']);
    expect(await ids({ addressIn: cidr('0.0.0.0', 1) })).toEqual(['ten', 'v4']);
    expect(await ids({ addressIn: cidr('2001:db8::', 32) })).toEqual(['v6']);
    expect(await ids({ addressIn: cidr('2001:db8::', 16) })).toEqual(['v6b', 'v6']);
    expect(await ids({ finding: 'slow' })).toEqual(['v6', 'v4']);
    expect(await ids({ severity: 'error' })).toEqual(['v4']);
    expect(await ids({ severity: 'warning' })).toEqual(['doc', 'v4']);
    expect(await ids({ severity: 'info' })).toEqual(['v6', 'doc', 'v4']);
    expect(await ids({ tls: true })).toEqual(['v4']);
    expect(await ids({ tls: false })).toEqual(['ten', 'v6b', 'v6', 'doc']);
    expect(await ids({ severity: 'info', addressIn: cidr('0.0.0.0', 0), user: 'b' })).toEqual(['doc']);
    expect(await store.get('v4')).toMatchObject({ findings: 2, worstSeverity: 'error' });
    expect(await store.get('doc')).toMatchObject({ worstSeverity: 'warning' });
    expect(await store.get('ten')).toMatchObject({ findings: 0, worstSeverity: null });
  });

  it('pages correctly under a CIDR filter, and exports every match in order', async () => {
    const db = await openTestDb(kind);
    await record(
      db,
      Array.from({ length: 30 }, (_, i) => ({
        id: `s${String(i).padStart(2, '0')}`,
        startedAt: 1000 + i,
        address: i % 3 === 0 ? '10.0.0.1' : '192.0.2.1',
        lines: [],
      })),
    );
    const store = createSessionStore(db);
    const other = createSessionStore(db); // a second store on the same connection shares its SQL function
    const addressIn = cidr('10.0.0.0', 8);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.history({ addressIn, limit: 4, cursor });
      seen.push(...page.items.map((s) => s.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(['s27', 's24', 's21', 's18', 's15', 's12', 's09', 's06', 's03', 's00']);
    const exported = async (max: number) => {
      const out: string[] = [];
      for await (const s of store.historyAll({ addressIn }, max)) out.push(s.id);
      return out;
    };
    expect(await exported(100)).toEqual(seen);
    expect(await exported(3)).toEqual(['s27', 's24', 's21']);
    expect((await other.history({ addressIn, limit: 2 })).items.map((s) => s.id)).toEqual(['s27', 's24']);
  });
});

describe.each(DATABASES)('failed logins on %s', (kind) => {
  it('attribute the tried user name to the session, unknown or not, but never replace a successful login', async () => {
    const db = await openTestDb(kind);
    await record(
      db,
      ['unknown', 'wrong', 'later-ok', 'ok-first'].map((id, i) => ({ id, startedAt: 1000 * (i + 1), lines: [] })),
    );
    const recorder = createSessionRecorder(db);
    const login = (sessionId: string, username: string, ok: boolean, reason: string | null) =>
      recorder.login({ at: 1, sessionId, username, address: '127.0.0.1', ok, reason });
    login('unknown', 'ghost', false, 'unknown-user');
    login('wrong', 'alice', false, 'bad-password');
    login('later-ok', 'ghost', false, 'unknown-user');
    login('later-ok', 'alice', true, null);
    recorder.sessionUpdated({ id: 'later-ok', username: 'alice', tls: false, clientSoftware: null });
    login('ok-first', 'alice', true, null);
    recorder.sessionUpdated({ id: 'ok-first', username: 'alice', tls: false, clientSoftware: null });
    login('ok-first', 'ghost', false, 'unknown-user');
    recorder.sessionUpdated({ id: 'ok-first', username: null, tls: false, clientSoftware: null }); // REIN
    await recorder.close();
    const store = createSessionStore(db);
    expect(await store.get('unknown')).toMatchObject({ username: 'ghost', unknownUser: true });
    expect(await store.get('wrong')).toMatchObject({ username: 'alice', unknownUser: false });
    expect(await store.get('later-ok')).toMatchObject({ username: 'alice', unknownUser: false });
    expect(await store.get('ok-first')).toMatchObject({ username: 'alice', unknownUser: false });
    // The user filter also finds a session by a name only a failed login in it tried.
    expect((await store.history({ user: 'ghost', limit: 10 })).items.map((s) => s.id)).toEqual(['ok-first', 'later-ok', 'unknown']);
  });
});

describe('migrations 0004 and 0005', () => {
  it('index the history recorded before them and attribute its failed logins', async () => {
    const file = join(tempDir(), 'old.db');
    const old = openDbWith(file, { migrationsFolder: migrationsCopy(4) });
    expect(schemaVersion(old)).toBe('0003_probe_links');
    const { sqlite } = sqliteHandleOf(old);
    const session = sqlite.prepare(
      `INSERT INTO sessions (id, client_address, client_port, server_address, server_port, started_at, username) VALUES (?, '127.0.0.1', 1, '127.0.0.1', 21, ?, ?)`,
    );
    const line = sqlite.prepare(`INSERT INTO transcript_lines (session_id, seq, at, kind, text) VALUES (?, ?, 1, 'command', ?)`);
    const login = sqlite.prepare(`INSERT INTO logins (at, session_id, username, address, ok, reason) VALUES (?, ?, ?, '127.0.0.1', ?, ?)`);
    session.run('old-ok', 1000, 'alice');
    line.run('old-ok', 1, 'STOR invoice-2291.pdf');
    line.run('old-ok', 2, 'CLNT WinSCP');
    login.run(1, 'old-ok', 'alice', 1, null);
    session.run('old-ghost', 2000, null);
    line.run('old-ghost', 1, 'USER ghost');
    login.run(1, 'old-ghost', 'ghost', 0, 'unknown-user');
    session.run('old-wrong', 3000, null);
    login.run(1, 'old-wrong', 'nobody', 0, 'unknown-user');
    login.run(2, 'old-wrong', 'alice', 0, 'bad-password');
    closeDb(old);

    const db = openDb(file);
    try {
      expect(schemaVersion(db)).toBe(committedTags().at(-1));
      const store = createSessionStore(db);
      expect((await store.history({ q: 'invoice-2291.pdf', limit: 10 })).items).toEqual([
        expect.objectContaining({ id: 'old-ok', hits: [expect.objectContaining({ seq: 1, excerpt: 'STOR invoice-2291.pdf' })] }),
      ]);
      expect((await store.history({ q: 'winscp', limit: 10 })).items.map((s) => s.id)).toEqual(['old-ok']);
      expect(await store.get('old-ok')).toMatchObject({ username: 'alice', unknownUser: false });
      expect(await store.get('old-ghost')).toMatchObject({ username: 'ghost', unknownUser: true });
      expect(await store.get('old-wrong')).toMatchObject({ username: 'alice', unknownUser: false });
      // Lines written after the upgrade are indexed too, and the old lines kept their order.
      await record(db, [{ id: 'new', startedAt: 4000, lines: ['RETR invoice-2291.pdf'] }]);
      expect((await store.history({ q: '2291', limit: 10 })).items.map((s) => s.id)).toEqual(['new', 'old-ok']);
      expect((await createTranscriptStore(db).lines('old-ok')).map((l) => l.text)).toEqual(['STOR invoice-2291.pdf', 'CLNT WinSCP']);
    } finally {
      closeDb(db);
    }
  });
});
