CREATE TABLE "simulator_labels" (
	"carrier" text NOT NULL,
	"idempotency_key" text NOT NULL,
	"service" text NOT NULL,
	"tracking_number" text NOT NULL,
	"cost" integer NOT NULL,
	"currency" text NOT NULL,
	"status" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "simulator_labels_carrier_idempotency_key_pk" PRIMARY KEY("carrier","idempotency_key")
);
--> statement-breakpoint
CREATE TABLE "simulator_requests" (
	"party" text NOT NULL,
	"idempotency_key" text NOT NULL,
	"answer" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "simulator_requests_party_idempotency_key_pk" PRIMARY KEY("party","idempotency_key")
);
--> statement-breakpoint
ALTER TABLE "shipments" ALTER COLUMN "tracking_number" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "shipments" ALTER COLUMN "label_cost" DROP NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "simulator_labels_tracking_number" ON "simulator_labels" USING btree ("tracking_number");--> statement-breakpoint
CREATE INDEX "simulator_labels_idempotency_key" ON "simulator_labels" USING btree ("idempotency_key");--> statement-breakpoint
ALTER TABLE "shipments" ADD CONSTRAINT "shipments_label_bought" CHECK (("shipments"."status" in ('label_pending', 'label_abandoned')) = ("shipments"."tracking_number" is null) and ("shipments"."tracking_number" is null) = ("shipments"."label_cost" is null));