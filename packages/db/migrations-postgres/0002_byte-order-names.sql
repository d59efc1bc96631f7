-- Names sort and compare by their bytes, as in SQLite (BINARY): `Alice` and `alice` are two accounts, and lists and
-- their cursors come in the same order on both databases whatever locale the PostgreSQL database was created with.
ALTER TABLE "users" ALTER COLUMN "username" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "groups" ALTER COLUMN "name" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "virtual_folders" ALTER COLUMN "name" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "admins" ALTER COLUMN "username" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "permission_rules" ALTER COLUMN "path" TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE "mounts" ALTER COLUMN "path" TYPE text COLLATE "C";
