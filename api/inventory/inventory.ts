import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { and, eq, sql, type SQL } from 'drizzle-orm';
import { orderWorkflowId } from '../../domain/ids.js';
import { stockArrivedSignal } from '../../domain/messages.js';
import { InventoryAdjustment } from '../../domain/schemas.js';
import type { Database } from '../../db/client.js';
import { products, stock, stockMovements, warehouses } from '../../db/schema.js';
import { moveStock, type Transaction } from '../../db/stock.js';
import { type ApiContext, withTemporalDeadline } from '../context.js';
import { IdempotencyKeyHeader, InventoryQuery } from '../contract.js';
import { type FieldError, parseOr400, problem } from '../http/problem.js';

/** Postgres' SQLSTATE for a CHECK constraint violation (the stock table's bounds). */
const CHECK_VIOLATION = '23514';

/** The SQLSTATE of a driver error, also when drizzle wraps it (`DrizzleQueryError.cause`). */
function sqlState(error: unknown): string | undefined {
  for (
    let current = error, depth = 0;
    current && depth < 5;
    current = (current as { cause?: unknown }).cause, depth += 1
  ) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

async function levelOf(db: Pick<Database | Transaction, 'select'>, warehouseId: string, sku: string) {
  const [row] = await db
    .select()
    .from(stock)
    .where(and(eq(stock.warehouseId, warehouseId), eq(stock.sku, sku)));
  return row
    ? { onHand: row.onHand, reserved: row.reserved, available: row.onHand - row.reserved }
    : { onHand: 0, reserved: 0, available: 0 };
}

/**
 * Stock corrections by people (a delivery booked in, a cycle count, damage found). Every one is a
 * stock movement with an idempotency key, so a retried request changes stock once; a restock wakes
 * the orders waiting for that sku.
 */
export function inventoryRouter(context: ApiContext): Router {
  const { db } = context;
  const router = Router();

  /** Tells every backordered order with this sku that stock arrived; one unreachable order fails nobody else. */
  async function wakeBackorderedOrders(sku: string, warehouseId: string): Promise<string[]> {
    const waiting = await db.execute<{ order_id: string }>(sql`
      select order_id from orders
      where status = 'backordered' and view->'items' @> ${JSON.stringify([{ sku }])}::jsonb
      order by created_at, order_id`);
    const orderIds = [...(waiting as unknown as Iterable<{ order_id: string }>)].map((row) => row.order_id);
    const results = await Promise.all(
      orderIds.map(async (orderId) => {
        try {
          await withTemporalDeadline(context, () =>
            context.temporal.workflow
              .getHandle(orderWorkflowId(orderId))
              .signal(stockArrivedSignal, { sku, warehouseId }),
          );
          return orderId;
        } catch (error) {
          context.log.error(error, `could not tell order ${orderId} that ${sku} arrived at ${warehouseId}`);
          return null;
        }
      }),
    );
    return results.filter((orderId): orderId is string => orderId !== null);
  }

  router.post('/inventory/adjustments', async (req, res) => {
    const adjustment = parseOr400(InventoryAdjustment, req.body, 'inventory adjustment');
    const header = req.get('idempotency-key');
    const key =
      header === undefined
        ? randomUUID()
        : parseOr400(IdempotencyKeyHeader, header, 'Idempotency-Key header', ['Idempotency-Key']);
    const movementKey = `adjustment:${key}`;
    const { warehouseId, sku, delta } = adjustment;
    const reason = `${adjustment.reason}${adjustment.note ? `: ${adjustment.note}` : ''}`;

    const [[warehouse], [product]] = await Promise.all([
      db.select({ id: warehouses.id }).from(warehouses).where(eq(warehouses.id, warehouseId)),
      db.select({ sku: products.sku }).from(products).where(eq(products.sku, sku)),
    ]);
    const unknown: FieldError[] = [
      ...(warehouse ? [] : [{ field: 'warehouseId', message: `unknown warehouse ${warehouseId}` }]),
      ...(product ? [] : [{ field: 'sku', message: `unknown sku ${sku}` }]),
    ];
    if (unknown.length > 0)
      throw problem('NotFound', unknown.map((error) => error.message).join('; ') + '.', { errors: unknown });

    let outcome: { applied: boolean; level: Awaited<ReturnType<typeof levelOf>> };
    try {
      outcome = await db.transaction(async (tx) => {
        // A known warehouse and sku that never had stock start at 0/0; rolled back with the movement if it fails.
        await tx.insert(stock).values({ warehouseId, sku }).onConflictDoNothing();
        const applied = await moveStock(tx, {
          key: movementKey,
          warehouseId,
          sku,
          kind: 'adjustment',
          onHandDelta: delta,
          reservedDelta: 0,
          reason,
        });
        if (!applied) {
          // The key was used before: the same request again answers with today's levels; another request is a conflict.
          const [recorded] = await tx
            .select()
            .from(stockMovements)
            .where(eq(stockMovements.idempotencyKey, movementKey));
          if (
            recorded &&
            (recorded.warehouseId !== warehouseId ||
              recorded.sku !== sku ||
              recorded.onHandDelta !== delta ||
              recorded.reason !== reason)
          ) {
            throw problem(
              'IdempotencyKeyReused',
              'This Idempotency-Key was used for a different adjustment; use a new key.',
              {
                errors: [{ field: 'Idempotency-Key', message: 'already used for a different adjustment' }],
              },
            );
          }
        }
        return { applied, level: await levelOf(tx, warehouseId, sku) };
      });
    } catch (error) {
      if (sqlState(error) !== CHECK_VIOLATION) throw error;
      const level = await levelOf(db, warehouseId, sku);
      const message = `${level.available} units of ${sku} at ${warehouseId} are available (on hand ${level.onHand}, reserved ${level.reserved}); a delta of ${delta} would take ${-delta}`;
      throw problem('NotEnoughStock', message + '.', { errors: [{ field: 'delta', message }] });
    }

    const { applied, level } = outcome;
    // Also on a replay: the first attempt may have committed and then failed before telling the orders.
    const wokeOrders = delta > 0 ? await wakeBackorderedOrders(sku, warehouseId) : [];
    res.status(applied ? 201 : 200).json({ warehouseId, sku, ...level, movementKey, applied, wokeOrders });
  });

  router.get('/inventory', async (req, res) => {
    const query = parseOr400(InventoryQuery, req.query, 'query');
    const conditions: SQL[] = [];
    if (query.warehouseId) conditions.push(eq(stock.warehouseId, query.warehouseId));
    if (query.sku) conditions.push(eq(stock.sku, query.sku));
    const rows = await db
      .select()
      .from(stock)
      .where(conditions.length ? and(...conditions) : undefined)
      // Byte order, the same whatever the server's locale.
      .orderBy(sql`${stock.warehouseId} collate "C"`, sql`${stock.sku} collate "C"`);
    res.json({
      inventory: rows.map((row) => ({
        warehouseId: row.warehouseId,
        sku: row.sku,
        onHand: row.onHand,
        reserved: row.reserved,
        available: row.onHand - row.reserved,
      })),
    });
  });

  return router;
}
