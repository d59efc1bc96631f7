-- Full-text search over transcript lines, PostgreSQL's counterpart of SQLite's FTS5 index (its migration 0005): a GIN
-- index on an expression, so that nothing in the table changes and every insert and delete keeps it in step. The
-- expression splits a line as SQLite's unicode61 tokenizer does (runs of letters and digits; invoice-2291.pdf is
-- invoice, 2291 and pdf), folds case and the diacritics of Latin letters, and indexes the words with the 'simple'
-- configuration (no stemming, no stop words). src/search/transcript-search.ts queries exactly this expression.
CREATE INDEX "transcript_lines_search_idx" ON "transcript_lines" USING gin (to_tsvector('simple'::regconfig, translate(regexp_replace(lower("text"), '[^[:alnum:]]+', ' ', 'g'), 'àáâãäåāăąçćčďèéêëēĕėęěìíîïīĭįñńňòóôõöōŏőùúûüũūŭůűųýÿžźżšś', 'aaaaaaaaacccdeeeeeeeeeiiiiiiinnnoooooooouuuuuuuuuuyyzzzss')));
