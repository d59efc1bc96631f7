PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_transcript_lines` (
	`id` integer PRIMARY KEY NOT NULL,
	`session_id` text NOT NULL,
	`seq` integer NOT NULL,
	`at` integer NOT NULL,
	`kind` text NOT NULL,
	`text` text NOT NULL,
	`event` text,
	FOREIGN KEY (`session_id`) REFERENCES `sessions`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
INSERT INTO `__new_transcript_lines`("id", "session_id", "seq", "at", "kind", "text", "event") SELECT "rowid", "session_id", "seq", "at", "kind", "text", "event" FROM `transcript_lines`;--> statement-breakpoint
DROP TABLE `transcript_lines`;--> statement-breakpoint
ALTER TABLE `__new_transcript_lines` RENAME TO `transcript_lines`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE UNIQUE INDEX `transcript_lines_session_seq_idx` ON `transcript_lines` (`session_id`,`seq`);--> statement-breakpoint
ALTER TABLE `sessions` ADD `unknown_user` integer DEFAULT false NOT NULL;