CREATE TABLE "simulator_payments" (
	"idempotency_key" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"reference" text NOT NULL,
	"parent" text,
	"amount" integer NOT NULL,
	"currency" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "simulator_payments_reference" ON "simulator_payments" USING btree ("reference");--> statement-breakpoint
CREATE INDEX "simulator_payments_parent" ON "simulator_payments" USING btree ("parent");