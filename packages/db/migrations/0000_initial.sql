CREATE TABLE `users` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`username` text NOT NULL,
	`password_hash` text NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`home_dir` text NOT NULL,
	`quota_bytes` integer,
	`quota_files` integer,
	`max_sessions` integer,
	`upload_bytes_per_second` integer,
	`download_bytes_per_second` integer,
	`allowed_cidrs` text NOT NULL,
	`expires_at` integer,
	`tls` text DEFAULT 'allowed' NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`last_login_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_username_unique` ON `users` (`username`);--> statement-breakpoint
CREATE TABLE `permission_rules` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`user_id` integer NOT NULL,
	`path` text NOT NULL,
	`allow` text NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `permission_rules_user_path_unique` ON `permission_rules` (`user_id`,`path`);--> statement-breakpoint
CREATE TABLE `admins` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`username` text NOT NULL,
	`password_hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`last_login_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `admins_username_unique` ON `admins` (`username`);--> statement-breakpoint
CREATE TABLE `auth_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`admin_id` integer NOT NULL,
	`kind` text NOT NULL,
	`name` text NOT NULL,
	`token_hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_used_at` integer,
	`expires_at` integer,
	FOREIGN KEY (`admin_id`) REFERENCES `admins`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `auth_tokens_token_hash_unique` ON `auth_tokens` (`token_hash`);--> statement-breakpoint
CREATE INDEX `auth_tokens_admin_kind_idx` ON `auth_tokens` (`admin_id`,`kind`);--> statement-breakpoint
CREATE INDEX `auth_tokens_expires_idx` ON `auth_tokens` (`expires_at`);--> statement-breakpoint
CREATE TABLE `settings` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`username` text,
	`client_address` text NOT NULL,
	`client_port` integer NOT NULL,
	`server_address` text NOT NULL,
	`server_port` integer NOT NULL,
	`tls` integer DEFAULT false NOT NULL,
	`client_software` text,
	`started_at` integer NOT NULL,
	`ended_at` integer,
	`end_reason` text,
	`outcome` text,
	`bytes_in` integer DEFAULT 0 NOT NULL,
	`bytes_out` integer DEFAULT 0 NOT NULL,
	`files_in` integer DEFAULT 0 NOT NULL,
	`files_out` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE INDEX `sessions_started_idx` ON `sessions` (`started_at`,`id`);--> statement-breakpoint
CREATE INDEX `sessions_user_started_idx` ON `sessions` (`username`,`started_at`);--> statement-breakpoint
CREATE INDEX `sessions_address_started_idx` ON `sessions` (`client_address`,`started_at`);--> statement-breakpoint
CREATE INDEX `sessions_outcome_started_idx` ON `sessions` (`outcome`,`started_at`);--> statement-breakpoint
CREATE TABLE `transcript_lines` (
	`session_id` text NOT NULL,
	`seq` integer NOT NULL,
	`at` integer NOT NULL,
	`kind` text NOT NULL,
	`text` text NOT NULL,
	`event` text,
	PRIMARY KEY(`session_id`, `seq`),
	FOREIGN KEY (`session_id`) REFERENCES `sessions`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `transfers` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`session_id` text NOT NULL,
	`direction` text NOT NULL,
	`path` text NOT NULL,
	`bytes` integer NOT NULL,
	`started_at` integer NOT NULL,
	`duration_ms` integer NOT NULL,
	`outcome` text NOT NULL,
	FOREIGN KEY (`session_id`) REFERENCES `sessions`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `transfers_session_idx` ON `transfers` (`session_id`);--> statement-breakpoint
CREATE INDEX `transfers_started_idx` ON `transfers` (`started_at`);--> statement-breakpoint
CREATE TABLE `logins` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`session_id` text NOT NULL,
	`username` text NOT NULL,
	`address` text NOT NULL,
	`ok` integer NOT NULL,
	`reason` text,
	FOREIGN KEY (`session_id`) REFERENCES `sessions`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `logins_ok_at_idx` ON `logins` (`ok`,`at`);--> statement-breakpoint
CREATE INDEX `logins_session_idx` ON `logins` (`session_id`);--> statement-breakpoint
CREATE TABLE `bans` (
	`address` text PRIMARY KEY NOT NULL,
	`reason` text NOT NULL,
	`offences` integer DEFAULT 1 NOT NULL,
	`banned_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
