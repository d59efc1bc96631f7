CREATE TABLE `probes` (
	`id` text PRIMARY KEY NOT NULL,
	`username` text NOT NULL,
	`password_hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`max_sessions` integer NOT NULL,
	`sessions_used` integer DEFAULT 0 NOT NULL,
	`created_by` text NOT NULL,
	`note` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `probes_username_unique` ON `probes` (`username`);--> statement-breakpoint
CREATE INDEX `probes_expires_idx` ON `probes` (`expires_at`);