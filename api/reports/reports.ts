import { Router } from 'express';
import { and, gte, inArray, lt, ne, type SQL } from 'drizzle-orm';
import { ReturnsReportQuery } from '../../domain/schemas.js';
import { orders, returns } from '../../db/schema.js';
import type { ApiContext } from '../context.js';
import { parseOr400 } from '../http/problem.js';

/** Reports for people who run the shop. */
export function reportsRouter({ db }: ApiContext): Router {
  const router = Router();

  /**
   * Returns authorized between `from` and `to` (expired ones left out): how many and how many units
   * by reason, and what was refunded, by reason and by sku (a sku's share is its units at the
   * order's price; shipping refunds count for the reason only).
   */
  router.get('/reports/returns', async (req, res) => {
    const query = parseOr400(ReturnsReportQuery, req.query, 'query');
    const conditions: SQL[] = [ne(returns.status, 'expired')];
    if (query.from) conditions.push(gte(returns.createdAt, new Date(query.from)));
    if (query.to) conditions.push(lt(returns.createdAt, new Date(query.to)));
    const rows = await db
      .select()
      .from(returns)
      .where(and(...conditions));
    const orderIds = [...new Set(rows.map((row) => row.orderId))];
    const prices = new Map<string, number>();
    if (orderIds.length > 0) {
      for (const order of await db
        .select({ orderId: orders.orderId, view: orders.view })
        .from(orders)
        .where(inArray(orders.orderId, orderIds))) {
        for (const item of order.view.items) prices.set(`${order.orderId}:${item.sku}`, item.unitPrice ?? 0);
      }
    }
    const byReason = new Map<string, { reason: string; returns: number; units: number; refunded: number }>();
    const bySku = new Map<string, { sku: string; units: number; refunded: number }>();
    for (const row of rows) {
      // Units that came back once received; until then, the units authorized.
      const units = row.units.length > 0 ? row.units : row.items;
      const reason = byReason.get(row.reason) ?? { reason: row.reason, returns: 0, units: 0, refunded: 0 };
      reason.returns += 1;
      reason.units += units.reduce((sum, unit) => sum + unit.quantity, 0);
      reason.refunded += row.refunded;
      byReason.set(row.reason, reason);
      if (row.refunded === 0) {
        for (const unit of units) {
          const sku = bySku.get(unit.sku) ?? { sku: unit.sku, units: 0, refunded: 0 };
          sku.units += unit.quantity;
          bySku.set(unit.sku, sku);
        }
        continue;
      }
      for (const unit of units) {
        const sku = bySku.get(unit.sku) ?? { sku: unit.sku, units: 0, refunded: 0 };
        sku.units += unit.quantity;
        sku.refunded += unit.quantity * (prices.get(`${row.orderId}:${unit.sku}`) ?? 0);
        bySku.set(unit.sku, sku);
      }
    }
    res.json({
      from: query.from ?? null,
      to: query.to ?? null,
      byReason: [...byReason.values()].sort((a, b) => b.returns - a.returns || a.reason.localeCompare(b.reason)),
      bySku: [...bySku.values()].sort((a, b) => b.units - a.units || a.sku.localeCompare(b.sku)),
    });
  });

  return router;
}
