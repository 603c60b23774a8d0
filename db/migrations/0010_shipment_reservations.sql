ALTER TABLE "reservations" ADD COLUMN "shipment" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "reservations" DROP CONSTRAINT "reservations_order_id_round_sku_pk";--> statement-breakpoint
ALTER TABLE "reservations" ADD CONSTRAINT "reservations_order_id_shipment_round_sku_pk" PRIMARY KEY("order_id","shipment","round","sku");
--> statement-breakpoint
-- The order view lists its shipments instead of one warehouseId: an order's warehouse in the KPIs
-- is its first shipment's (the nearest), or the old view's warehouseId for orders of the old shape.
CREATE OR REPLACE FUNCTION "order_facts_orders_inserted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO order_facts (order_id, created_at, channel, warehouse_id, cancel_reason, skus, quantities, units)
  SELECT n.order_id, n.created_at, n.channel, coalesce(n.view ->> 'warehouseId', n.view -> 'shipments' -> 0 ->> 'warehouseId'),
    n.view -> 'cancellation' ->> 'reason',
    ARRAY(SELECT i ->> 'sku' FROM jsonb_array_elements(n.view -> 'items') i),
    ARRAY(SELECT (i ->> 'quantity')::int FROM jsonb_array_elements(n.view -> 'items') i),
    (SELECT coalesce(sum((i ->> 'quantity')::int), 0) FROM jsonb_array_elements(n.view -> 'items') i)
  FROM inserted n
  ON CONFLICT (order_id) DO NOTHING;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "order_facts_orders_updated"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE order_facts f SET warehouse_id = n.warehouse_id, cancel_reason = n.cancel_reason
  FROM (SELECT order_id, coalesce(view ->> 'warehouseId', view -> 'shipments' -> 0 ->> 'warehouseId') AS warehouse_id,
          view -> 'cancellation' ->> 'reason' AS cancel_reason FROM updated) n
  WHERE f.order_id = n.order_id
    AND (f.warehouse_id IS DISTINCT FROM n.warehouse_id OR f.cancel_reason IS DISTINCT FROM n.cancel_reason);
  RETURN NULL;
END $$;
