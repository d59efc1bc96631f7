CREATE TABLE `nodes` (
	`name` text PRIMARY KEY NOT NULL,
	`version` text NOT NULL,
	`state` text NOT NULL,
	`ftp_address` text,
	`ftp_port` integer NOT NULL,
	`ftps_port` integer,
	`http_port` integer NOT NULL,
	`sessions` integer DEFAULT 0 NOT NULL,
	`started_at` integer NOT NULL,
	`last_seen_at` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `sessions` ADD `node` text;--> statement-breakpoint
ALTER TABLE `event_deliveries` ADD `claimed_by` text;