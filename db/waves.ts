import { and, asc, desc, eq, gte, ne, sql, type SQL } from 'drizzle-orm';
import type { ShipmentPriority, WaveStatus } from '../domain/waves.js';
import type { Database } from './client.js';
import { waves, waveShipments } from './schema.js';

/** Reads of the `waves` tables, for the API and the bench. */

type WaveRow = typeof waves.$inferSelect;
const iso = (d: Date | null) => (d ? d.toISOString() : null);

function summary(row: WaveRow, shipmentCount: number) {
  return {
    waveId: row.id,
    warehouseId: row.warehouseId,
    status: row.status as WaveStatus,
    reason: row.reason as 'size' | 'max_wait' | 'cutoff' | 'urgent' | null,
    shipmentCount,
    timestamps: {
      opened: row.openedAt.toISOString(),
      released: iso(row.releasedAt),
      picking: iso(row.pickingAt),
      picked: iso(row.pickedAt),
      labelled: iso(row.labelledAt),
      closed: iso(row.closedAt),
    },
  };
}

export async function listWaves(db: Database, filter: { warehouseId?: string; status?: WaveStatus }) {
  const where: SQL[] = [];
  if (filter.warehouseId) where.push(eq(waves.warehouseId, filter.warehouseId));
  if (filter.status) where.push(eq(waves.status, filter.status));
  const rows = await db
    .select({
      wave: waves,
      // Built, not written as SQL: drizzle names `waves.id` unqualified inside raw SQL.
      count: sql<number>`(${db
        .select({ count: sql`count(*)::int` })
        .from(waveShipments)
        .where(eq(waveShipments.waveId, waves.id))})`,
    })
    .from(waves)
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(waves.openedAt), desc(waves.id))
    .limit(100);
  return { waves: rows.map((r) => summary(r.wave, r.count)) };
}

const RANK = sql`case ${waveShipments.priority} when 'urgent' then 0 when 'high' then 1 else 2 end`;

export async function findWave(db: Database, waveId: string) {
  const [row] = await db.select().from(waves).where(eq(waves.id, waveId));
  if (!row) return null;
  const members = await db
    .select()
    .from(waveShipments)
    .where(eq(waveShipments.waveId, waveId))
    .orderBy(RANK, asc(waveShipments.readyAt), asc(waveShipments.shipmentId));
  return {
    ...summary(row, members.length),
    shipments: members.map((m) => ({
      shipmentId: m.shipmentId,
      orderId: m.orderId,
      priority: m.priority as ShipmentPriority,
      carrier: m.carrier,
      service: m.service,
      items: m.items,
      readyAt: m.readyAt.toISOString(),
      pickStatus: m.pickStatus as 'pending' | 'picked' | 'short' | 'unanswered',
      shortages: m.shortages ?? null,
      label:
        m.trackingNumber && m.printPosition !== null
          ? {
              printPosition: m.printPosition,
              trackingNumber: m.trackingNumber,
              cost: m.labelCost ?? 0,
              box: m.box ?? '',
              weightGrams: m.weightGrams ?? 0,
              status: (m.labelStatus ?? 'sold') as 'sold' | 'voided',
            }
          : null,
    })),
    pickList: row.pickList
      ? row.pickList.map((zone) => ({
          zone: zone.zone,
          lines: zone.lines.map(({ bin, sku, quantity, shipmentId }) => ({ bin, sku, quantity, shipmentId })),
        }))
      : null,
  };
}

export type WaveView = NonNullable<Awaited<ReturnType<typeof findWave>>>;

/** A wave's labels in print order, with what the sheet prints on each. */
export async function waveLabels(db: Database, waveId: string) {
  return db
    .select()
    .from(waveShipments)
    .where(and(eq(waveShipments.waveId, waveId), sql`${waveShipments.printPosition} is not null`))
    .orderBy(asc(waveShipments.printPosition));
}

/**
 * For the bench: waves released (any status past `open`) since `since`, and their mean size in shipments.
 */
export async function waveStats(db: Database, since = new Date(0)): Promise<{ released: number; meanSize: number }> {
  const [row] = await db
    .select({
      released: sql<number>`count(distinct ${waves.id})::int`,
      shipments: sql<number>`count(${waveShipments.shipmentId})::int`,
    })
    .from(waves)
    .leftJoin(waveShipments, eq(waveShipments.waveId, waves.id))
    .where(and(ne(waves.status, 'open'), gte(waves.openedAt, since)));
  const released = row?.released ?? 0;
  return { released, meanSize: released ? (row!.shipments ?? 0) / released : 0 };
}
