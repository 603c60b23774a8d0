-- IF NOT EXISTS: an earlier API created this table itself on first use.
CREATE TABLE IF NOT EXISTS "api_idempotency_keys" (
	"scope" text NOT NULL,
	"key" text NOT NULL,
	"request_hash" text NOT NULL,
	"status" integer,
	"headers" jsonb,
	"body" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "api_idempotency_keys_scope_key_pk" PRIMARY KEY("scope","key")
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "api_idempotency_keys_created_at" ON "api_idempotency_keys" USING btree ("created_at");