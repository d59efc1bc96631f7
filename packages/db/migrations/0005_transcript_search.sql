-- Full-text search over transcript lines: an external-content FTS5 index of transcript_lines.text, keyed by the
-- line's id and kept in step by triggers, so that the recorder's inserts and every delete (retention, and the
-- cascade from a deleted session, which fires triggers too) update it without application code.
-- unicode61 splits on punctuation: invoice-2291.pdf is indexed as invoice, 2291 and pdf, so each part is found,
-- and the quoted name as a phrase finds the whole.
CREATE VIRTUAL TABLE `transcript_search` USING fts5(`text`, content='transcript_lines', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
--> statement-breakpoint
CREATE TRIGGER `transcript_search_insert` AFTER INSERT ON `transcript_lines` BEGIN
  INSERT INTO `transcript_search` (rowid, `text`) VALUES (new.`id`, new.`text`);
END;
--> statement-breakpoint
CREATE TRIGGER `transcript_search_delete` AFTER DELETE ON `transcript_lines` BEGIN
  INSERT INTO `transcript_search` (`transcript_search`, rowid, `text`) VALUES ('delete', old.`id`, old.`text`);
END;
--> statement-breakpoint
CREATE TRIGGER `transcript_search_update` AFTER UPDATE OF `id`, `text` ON `transcript_lines` BEGIN
  INSERT INTO `transcript_search` (`transcript_search`, rowid, `text`) VALUES ('delete', old.`id`, old.`text`);
  INSERT INTO `transcript_search` (rowid, `text`) VALUES (new.`id`, new.`text`);
END;
--> statement-breakpoint
-- Index the history recorded so far.
INSERT INTO `transcript_search` (`transcript_search`) VALUES ('rebuild');
--> statement-breakpoint
-- Sessions whose login failed take the last user name they tried (a session that logged in keeps its own).
UPDATE `sessions` SET
  `username` = (SELECT `username` FROM `logins` WHERE `logins`.`session_id` = `sessions`.`id` AND `ok` = 0 ORDER BY `at` DESC, `id` DESC LIMIT 1),
  `unknown_user` = coalesce((SELECT `reason` = 'unknown-user' FROM `logins` WHERE `logins`.`session_id` = `sessions`.`id` AND `ok` = 0 ORDER BY `at` DESC, `id` DESC LIMIT 1), 0)
WHERE EXISTS (SELECT 1 FROM `logins` WHERE `logins`.`session_id` = `sessions`.`id` AND `ok` = 0)
  AND NOT EXISTS (SELECT 1 FROM `logins` WHERE `logins`.`session_id` = `sessions`.`id` AND `ok` = 1);
