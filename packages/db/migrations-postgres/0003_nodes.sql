CREATE TABLE "nodes" (
	"name" text PRIMARY KEY NOT NULL,
	"version" text NOT NULL,
	"state" text NOT NULL,
	"ftp_address" text,
	"ftp_port" bigint NOT NULL,
	"ftps_port" bigint,
	"http_port" bigint NOT NULL,
	"sessions" bigint DEFAULT 0 NOT NULL,
	"started_at" bigint NOT NULL,
	"last_seen_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "event_deliveries" ADD COLUMN "claimed_by" text;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "node" text;