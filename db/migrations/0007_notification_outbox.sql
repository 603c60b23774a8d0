ALTER TABLE "notifications" ADD COLUMN "sent_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "last_error" text;--> statement-breakpoint
-- Messages recorded before the outbox were handed to the notifier as they were recorded: sent.
UPDATE "notifications" SET "sent_at" = "created_at", "attempts" = 1;--> statement-breakpoint
CREATE INDEX "notifications_pending" ON "notifications" USING btree ("next_attempt_at") WHERE "notifications"."sent_at" is null;