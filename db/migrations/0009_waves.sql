CREATE TABLE "wave_shipments" (
	"wave_id" text NOT NULL,
	"shipment_id" text NOT NULL,
	"order_id" text NOT NULL,
	"workflow_id" text NOT NULL,
	"priority" text NOT NULL,
	"carrier" text NOT NULL,
	"service" text NOT NULL,
	"items" jsonb NOT NULL,
	"ship_to" jsonb NOT NULL,
	"ready_at" timestamp with time zone NOT NULL,
	"pick_status" text DEFAULT 'pending' NOT NULL,
	"shortages" jsonb,
	"print_position" integer,
	"tracking_number" text,
	"label_cost" integer,
	"box" text,
	"weight_grams" integer,
	"label_status" text,
	CONSTRAINT "wave_shipments_wave_id_shipment_id_pk" PRIMARY KEY("wave_id","shipment_id")
);
--> statement-breakpoint
CREATE TABLE "waves" (
	"id" text PRIMARY KEY NOT NULL,
	"warehouse_id" text NOT NULL,
	"status" text NOT NULL,
	"reason" text,
	"pick_list" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"released_at" timestamp with time zone,
	"picking_at" timestamp with time zone,
	"picked_at" timestamp with time zone,
	"labelled_at" timestamp with time zone,
	"closed_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "zone" text DEFAULT 'A' NOT NULL;--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "bin" text DEFAULT 'A-00-00' NOT NULL;--> statement-breakpoint
ALTER TABLE "warehouses" ADD COLUMN "time_zone" text DEFAULT 'UTC' NOT NULL;--> statement-breakpoint
CREATE INDEX "wave_shipments_shipment" ON "wave_shipments" USING btree ("shipment_id");--> statement-breakpoint
CREATE INDEX "waves_warehouse_status" ON "waves" USING btree ("warehouse_id","status");
--> statement-breakpoint
-- The demo catalog and warehouses seeded before this migration get their floor locations and time zones.
UPDATE "warehouses" SET "time_zone" = 'America/New_York' WHERE "id" = 'wh-east';--> statement-breakpoint
UPDATE "warehouses" SET "time_zone" = 'America/Chicago' WHERE "id" = 'wh-central';--> statement-breakpoint
UPDATE "warehouses" SET "time_zone" = 'America/Los_Angeles' WHERE "id" = 'wh-west';--> statement-breakpoint
UPDATE "products" SET "zone" = 'A', "bin" = 'A-01-02' WHERE "sku" = 'TSHIRT-ORG-M';--> statement-breakpoint
UPDATE "products" SET "zone" = 'A', "bin" = 'A-01-04' WHERE "sku" = 'HOODIE-GRY-L';--> statement-breakpoint
UPDATE "products" SET "zone" = 'A', "bin" = 'A-02-01' WHERE "sku" = 'SNEAKER-WHT-42';--> statement-breakpoint
UPDATE "products" SET "zone" = 'B', "bin" = 'B-01-01' WHERE "sku" = 'MUG-CERAMIC';--> statement-breakpoint
UPDATE "products" SET "zone" = 'B', "bin" = 'B-01-03' WHERE "sku" = 'BOTTLE-STEEL';--> statement-breakpoint
UPDATE "products" SET "zone" = 'A', "bin" = 'A-03-02' WHERE "sku" = 'BACKPACK-20L';--> statement-breakpoint
UPDATE "products" SET "zone" = 'B', "bin" = 'B-02-02' WHERE "sku" = 'HEADPHONES-BT';--> statement-breakpoint
UPDATE "products" SET "zone" = 'B', "bin" = 'B-02-05' WHERE "sku" = 'CHARGER-65W';--> statement-breakpoint
UPDATE "products" SET "zone" = 'C', "bin" = 'C-01-01' WHERE "sku" = 'LAMP-DESK';--> statement-breakpoint
UPDATE "products" SET "zone" = 'B', "bin" = 'B-03-01' WHERE "sku" = 'BOOK-TEMPORAL';--> statement-breakpoint
UPDATE "products" SET "zone" = 'C', "bin" = 'C-02-03' WHERE "sku" = 'YOGA-MAT';--> statement-breakpoint
UPDATE "products" SET "zone" = 'C', "bin" = 'C-03-01' WHERE "sku" = 'COFFEE-1KG';
