ALTER TABLE "reservations" DROP CONSTRAINT "reservations_quantity_positive";--> statement-breakpoint
ALTER TABLE "reservations" ADD COLUMN "round" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "reservations" DROP CONSTRAINT "reservations_order_id_sku_pk";--> statement-breakpoint
ALTER TABLE "reservations" ADD CONSTRAINT "reservations_order_id_round_sku_pk" PRIMARY KEY("order_id","round","sku");--> statement-breakpoint
ALTER TABLE "reservations" ADD CONSTRAINT "reservations_quantity_not_negative" CHECK ("reservations"."quantity" >= 0);
