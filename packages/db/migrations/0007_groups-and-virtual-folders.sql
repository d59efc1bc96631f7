CREATE TABLE `group_members` (
	`user_id` integer NOT NULL,
	`group_id` integer NOT NULL,
	`position` integer NOT NULL,
	PRIMARY KEY(`user_id`, `group_id`),
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`group_id`) REFERENCES `groups`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `group_members_group_idx` ON `group_members` (`group_id`);--> statement-breakpoint
CREATE TABLE `groups` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`permissions` text NOT NULL,
	`quota_bytes` integer,
	`quota_files` integer,
	`max_sessions` integer,
	`upload_bytes_per_second` integer,
	`download_bytes_per_second` integer,
	`allowed_cidrs` text NOT NULL,
	`tls` text,
	`expires_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `groups_name_unique` ON `groups` (`name`);--> statement-breakpoint
CREATE TABLE `mounts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`user_id` integer,
	`group_id` integer,
	`folder_id` integer NOT NULL,
	`path` text NOT NULL,
	`allow` text,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`group_id`) REFERENCES `groups`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`folder_id`) REFERENCES `virtual_folders`(`id`) ON UPDATE no action ON DELETE restrict,
	CONSTRAINT "mounts_one_owner" CHECK(("mounts"."user_id" IS NULL) <> ("mounts"."group_id" IS NULL))
);
--> statement-breakpoint
CREATE INDEX `mounts_folder_idx` ON `mounts` (`folder_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `mounts_user_path_unique` ON `mounts` (`user_id`,`path`);--> statement-breakpoint
CREATE UNIQUE INDEX `mounts_group_path_unique` ON `mounts` (`group_id`,`path`);--> statement-breakpoint
CREATE TABLE `virtual_folders` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`host_dir` text NOT NULL,
	`quota_bytes` integer,
	`quota_files` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `virtual_folders_name_unique` ON `virtual_folders` (`name`);--> statement-breakpoint
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_users` (
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
	`tls` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`last_login_at` integer
);
--> statement-breakpoint
INSERT INTO `__new_users`("id", "username", "password_hash", "enabled", "home_dir", "quota_bytes", "quota_files", "max_sessions", "upload_bytes_per_second", "download_bytes_per_second", "allowed_cidrs", "expires_at", "tls", "created_at", "updated_at", "last_login_at") SELECT "id", "username", "password_hash", "enabled", "home_dir", "quota_bytes", "quota_files", "max_sessions", "upload_bytes_per_second", "download_bytes_per_second", "allowed_cidrs", "expires_at", "tls", "created_at", "updated_at", "last_login_at" FROM `users`;--> statement-breakpoint
DROP TABLE `users`;--> statement-breakpoint
ALTER TABLE `__new_users` RENAME TO `users`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE UNIQUE INDEX `users_username_unique` ON `users` (`username`);