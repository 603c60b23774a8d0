CREATE TABLE "order_facts" (
	"order_id" text PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"channel" text NOT NULL,
	"warehouse_id" text,
	"skus" text[] NOT NULL,
	"quantities" integer[] NOT NULL,
	"units" integer NOT NULL,
	"captured_at" timestamp with time zone,
	"shipped_at" timestamp with time zone,
	"delivered_at" timestamp with time zone,
	"cancel_type" text,
	"cancel_reason" text,
	"picked" boolean DEFAULT false NOT NULL,
	"pick_rejected" boolean DEFAULT false NOT NULL,
	"short_pick" boolean DEFAULT false NOT NULL,
	"delivery_exception" boolean DEFAULT false NOT NULL,
	"reships" integer DEFAULT 0 NOT NULL,
	"promised_by" timestamp with time zone,
	"returned_units" integer DEFAULT 0 NOT NULL,
	"wrong_item_return" boolean DEFAULT false NOT NULL,
	"damaged_return" boolean DEFAULT false NOT NULL
);
--> statement-breakpoint
ALTER TABLE "order_facts" ADD CONSTRAINT "order_facts_order_id_orders_order_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("order_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "order_facts_created" ON "order_facts" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "order_facts_channel_created" ON "order_facts" USING btree ("channel","created_at");--> statement-breakpoint
CREATE INDEX "order_facts_warehouse_created" ON "order_facts" USING btree ("warehouse_id","created_at");--> statement-breakpoint
CREATE INDEX "order_facts_cancelled" ON "order_facts" USING btree ("created_at") WHERE "order_facts"."cancel_type" is not null;--> statement-breakpoint
CREATE INDEX "order_facts_returned" ON "order_facts" USING btree ("created_at") WHERE "order_facts"."returned_units" > 0;--> statement-breakpoint
-- order_facts is written only by these triggers (db/schema.ts says why). Statement-level triggers
-- with transition tables see exactly the rows a statement inserted (an ON CONFLICT DO NOTHING row
-- that was already there is not among them), so adding counts stays exact when an activity retries.
CREATE FUNCTION "order_facts_orders_inserted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO order_facts (order_id, created_at, channel, warehouse_id, cancel_reason, skus, quantities, units)
  SELECT n.order_id, n.created_at, n.channel, n.view ->> 'warehouseId', n.view -> 'cancellation' ->> 'reason',
    ARRAY(SELECT i ->> 'sku' FROM jsonb_array_elements(n.view -> 'items') i),
    ARRAY(SELECT (i ->> 'quantity')::int FROM jsonb_array_elements(n.view -> 'items') i),
    (SELECT coalesce(sum((i ->> 'quantity')::int), 0) FROM jsonb_array_elements(n.view -> 'items') i)
  FROM inserted n
  ON CONFLICT (order_id) DO NOTHING;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "order_facts_orders_inserted" AFTER INSERT ON "orders" REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION "order_facts_orders_inserted"();
--> statement-breakpoint
-- The warehouse is known once stock is reserved; the cancel reason once cancelled.
CREATE FUNCTION "order_facts_orders_updated"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE order_facts f SET warehouse_id = n.warehouse_id, cancel_reason = n.cancel_reason
  FROM (SELECT order_id, view ->> 'warehouseId' AS warehouse_id, view -> 'cancellation' ->> 'reason' AS cancel_reason FROM updated) n
  WHERE f.order_id = n.order_id
    AND (f.warehouse_id IS DISTINCT FROM n.warehouse_id OR f.cancel_reason IS DISTINCT FROM n.cancel_reason);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "order_facts_orders_updated" AFTER UPDATE ON "orders" REFERENCING NEW TABLE AS updated FOR EACH STATEMENT EXECUTE FUNCTION "order_facts_orders_updated"();
--> statement-breakpoint
CREATE FUNCTION "order_facts_events_inserted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE order_facts f SET
    captured_at = least(f.captured_at, n.captured_at),
    shipped_at = least(f.shipped_at, n.shipped_at),
    delivered_at = least(f.delivered_at, n.delivered_at),
    cancel_type = coalesce(f.cancel_type, n.cancel_type),
    picked = f.picked OR n.picked,
    pick_rejected = f.pick_rejected OR n.pick_rejected,
    short_pick = f.short_pick OR n.short_pick,
    delivery_exception = f.delivery_exception OR n.delivery_exception,
    reships = f.reships + n.reships
  FROM (
    SELECT e.order_id,
      min(e.at) FILTER (WHERE e.type = 'payment_captured') AS captured_at,
      min(e.at) FILTER (WHERE e.type = 'shipped') AS shipped_at,
      min(e.at) FILTER (WHERE e.type = 'delivered') AS delivered_at,
      min(e.type) FILTER (WHERE e.type IN ('order_cancelled', 'backorder_expired', 'parcel_lost_refunded')) AS cancel_type,
      bool_or(e.type = 'picked') AS picked,
      bool_or(e.type = 'pick_rejected') AS pick_rejected,
      bool_or(e.type = 'short_pick') AS short_pick,
      bool_or(e.type IN ('delivery_exception', 'returned_to_sender')) AS delivery_exception,
      count(*) FILTER (WHERE e.type = 'reship_started')::int AS reships
    FROM inserted e
    WHERE e.type IN ('payment_captured', 'shipped', 'delivered', 'order_cancelled', 'backorder_expired', 'parcel_lost_refunded', 'picked',
                     'pick_rejected', 'short_pick', 'delivery_exception', 'returned_to_sender', 'reship_started')
    GROUP BY e.order_id
  ) n
  WHERE f.order_id = n.order_id;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "order_facts_events_inserted" AFTER INSERT ON "order_events" REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION "order_facts_events_inserted"();
--> statement-breakpoint
-- Returns and shipments change in place (a return is received, a label bought or voided): their
-- facts are recomputed for the orders a statement touched.
CREATE FUNCTION "order_facts_returns_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE order_facts f SET
    returned_units = coalesce(r.units, 0),
    wrong_item_return = coalesce(r.wrong_item, false),
    damaged_return = coalesce(r.damaged, false)
  FROM (SELECT DISTINCT order_id FROM changed) c
  LEFT JOIN LATERAL (
    SELECT sum((u ->> 'quantity')::int)::int AS units, bool_or(x.reason = 'wrong_item') AS wrong_item, bool_or(x.reason = 'damaged') AS damaged
    FROM returns x
    CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_array_length(x.units) > 0 THEN x.units ELSE x.items END) u
    WHERE x.order_id = c.order_id AND x.status <> 'expired'
  ) r ON true
  WHERE f.order_id = c.order_id;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "order_facts_returns_inserted" AFTER INSERT ON "returns" REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION "order_facts_returns_changed"();
--> statement-breakpoint
CREATE TRIGGER "order_facts_returns_updated" AFTER UPDATE ON "returns" REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION "order_facts_returns_changed"();
--> statement-breakpoint
CREATE FUNCTION "order_facts_shipments_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE order_facts f SET promised_by = (
    SELECT min(s.promised_by) FROM shipments s
    WHERE s.order_id = f.order_id AND s.status NOT IN ('label_pending', 'label_abandoned', 'voided')
  )
  FROM (SELECT DISTINCT order_id FROM changed) c
  WHERE f.order_id = c.order_id;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "order_facts_shipments_inserted" AFTER INSERT ON "shipments" REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION "order_facts_shipments_changed"();
--> statement-breakpoint
CREATE TRIGGER "order_facts_shipments_updated" AFTER UPDATE ON "shipments" REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION "order_facts_shipments_changed"();
--> statement-breakpoint
-- The orders already there.
INSERT INTO order_facts (order_id, created_at, channel, warehouse_id, cancel_reason, skus, quantities, units)
SELECT o.order_id, o.created_at, o.channel, o.view ->> 'warehouseId', o.view -> 'cancellation' ->> 'reason',
  ARRAY(SELECT i ->> 'sku' FROM jsonb_array_elements(o.view -> 'items') i),
  ARRAY(SELECT (i ->> 'quantity')::int FROM jsonb_array_elements(o.view -> 'items') i),
  (SELECT coalesce(sum((i ->> 'quantity')::int), 0) FROM jsonb_array_elements(o.view -> 'items') i)
FROM orders o;
--> statement-breakpoint
UPDATE order_facts f SET
  captured_at = n.captured_at, shipped_at = n.shipped_at, delivered_at = n.delivered_at, cancel_type = n.cancel_type,
  picked = n.picked, pick_rejected = n.pick_rejected, short_pick = n.short_pick, delivery_exception = n.delivery_exception, reships = n.reships
FROM (
  SELECT e.order_id,
    min(e.at) FILTER (WHERE e.type = 'payment_captured') AS captured_at,
    min(e.at) FILTER (WHERE e.type = 'shipped') AS shipped_at,
    min(e.at) FILTER (WHERE e.type = 'delivered') AS delivered_at,
    min(e.type) FILTER (WHERE e.type IN ('order_cancelled', 'backorder_expired', 'parcel_lost_refunded')) AS cancel_type,
    bool_or(e.type = 'picked') AS picked,
    bool_or(e.type = 'pick_rejected') AS pick_rejected,
    bool_or(e.type = 'short_pick') AS short_pick,
    bool_or(e.type IN ('delivery_exception', 'returned_to_sender')) AS delivery_exception,
    count(*) FILTER (WHERE e.type = 'reship_started')::int AS reships
  FROM order_events e GROUP BY e.order_id
) n
WHERE f.order_id = n.order_id;
--> statement-breakpoint
UPDATE order_facts f SET promised_by = s.promised_by
FROM (SELECT order_id, min(promised_by) AS promised_by FROM shipments WHERE status NOT IN ('label_pending', 'label_abandoned', 'voided') GROUP BY order_id) s
WHERE f.order_id = s.order_id;
--> statement-breakpoint
UPDATE order_facts f SET returned_units = r.units, wrong_item_return = r.wrong_item, damaged_return = r.damaged
FROM (
  SELECT x.order_id, sum((u ->> 'quantity')::int)::int AS units, bool_or(x.reason = 'wrong_item') AS wrong_item, bool_or(x.reason = 'damaged') AS damaged
  FROM returns x
  CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_array_length(x.units) > 0 THEN x.units ELSE x.items END) u
  WHERE x.status <> 'expired'
  GROUP BY x.order_id
) r
WHERE f.order_id = r.order_id;
