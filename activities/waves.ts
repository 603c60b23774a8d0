import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { and, eq, inArray, notInArray, sql } from 'drizzle-orm';
import { addBusinessDays } from '../domain/calendar.js';
import { FailureType } from '../domain/failures.js';
import type { Box, PricedLine, ShipmentView } from '../domain/order.js';
import type { ShippingAddress, ShippingSpeed } from '../domain/schemas.js';
import { BOXES, chooseBox, packedWeightGrams } from '../domain/packaging.js';
import { leaveWaveUpdate, shipmentReadySignal } from '../domain/messages.js';
import {
  buildPickList,
  type PickZone,
  type ShipmentReady,
  type WaveLabel,
  type WaveLeave,
  type WavePolicy,
  type WaveReason,
  type WaveShortage,
  type WaveStatus,
  waveStatuses,
  wavesWorkflowId,
} from '../domain/waves.js';
import type { Database } from '../db/client.js';
import { products, shipments, warehouses, waves, waveShipments } from '../db/schema.js';
import type { ActivityDependencies } from './deps.js';
import { RequestRefusedError } from './ports.js';
import { chooseCarrierService, toView } from './shipping.js';

/** Defaults of config/index.ts `waveSettings`, for dependencies that do not say (tests). */
export const DEFAULT_WAVE_SETTINGS: Omit<WavePolicy, 'timeZone'> = {
  waveSize: 20,
  maxWait: '15m',
  cutoffs: { parcelpost: '17:00', swiftship: '18:00', coastline: '17:30' },
  cutoffLead: '1h',
  urgentAlone: true,
  pickSla: '4h',
  pickAttempts: 3,
};

/** What the wave workflows pass to `recordWave`: the wave, and per shipment what is known of it now. */
export interface WaveRecord {
  waveId: string;
  warehouseId: string;
  status: WaveStatus;
  reason?: WaveReason;
  /** The wave's shipments now (replacing those recorded before); absent: unchanged. */
  shipments?: ShipmentReady[];
  /** The warehouse's answer per shipment, once known. */
  picks?: { shipmentId: string; status: 'picked' | 'short' | 'unanswered'; shortages?: WaveShortage[] }[];
}

const STATUS_TIME = {
  open: null,
  released: 'released_at',
  picking: 'picking_at',
  picked: 'picked_at',
  labelled: 'labelled_at',
  closed: 'closed_at',
} as const;

/** Writes a wave's status (never backwards: a late or retried write of an earlier status changes nothing). */
async function writeWave(db: Database, record: WaveRecord): Promise<void> {
  if (record.status === 'open' && record.shipments?.length === 0) {
    // Nothing waits: no open wave to show (the rows of one that was released stay).
    await db.transaction(async (tx) => {
      const gone = await tx
        .delete(waves)
        .where(and(eq(waves.id, record.waveId), eq(waves.status, 'open')))
        .returning({ id: waves.id });
      if (gone.length) await tx.delete(waveShipments).where(eq(waveShipments.waveId, record.waveId));
    });
    return;
  }
  const rank = waveStatuses.indexOf(record.status);
  const stamp = STATUS_TIME[record.status];
  await db.transaction(async (tx) => {
    const now = new Date();
    await tx
      .insert(waves)
      .values({
        id: record.waveId,
        warehouseId: record.warehouseId,
        status: record.status,
        reason: record.reason ?? null,
        ...(stamp ? { [camel(stamp)]: now } : {}),
      })
      .onConflictDoUpdate({
        target: waves.id,
        set: {
          status: record.status,
          ...(record.reason ? { reason: record.reason } : {}),
          ...(stamp ? { [camel(stamp)]: sql.raw(`coalesce(waves.${stamp}, now())`) } : {}),
          updatedAt: now,
        },
        setWhere: sql`array_position(array[${sql.raw(waveStatuses.map((s) => `'${s}'`).join(','))}]::text[], ${waves.status}) <= ${rank + 1}`,
      });
    if (record.shipments) {
      const ids = record.shipments.map((s) => s.shipmentId);
      await tx
        .delete(waveShipments)
        .where(
          ids.length
            ? and(eq(waveShipments.waveId, record.waveId), notInArray(waveShipments.shipmentId, ids))
            : eq(waveShipments.waveId, record.waveId),
        );
      for (const s of record.shipments) {
        await tx
          .insert(waveShipments)
          .values({
            waveId: record.waveId,
            shipmentId: s.shipmentId,
            orderId: s.orderId,
            workflowId: s.workflowId,
            priority: s.priority,
            carrier: s.carrier,
            service: s.service,
            items: s.items,
            shipTo: s.shipTo,
            readyAt: new Date(s.readyAt),
          })
          .onConflictDoNothing();
      }
    }
    for (const pick of record.picks ?? []) {
      await tx
        .update(waveShipments)
        .set({ pickStatus: pick.status, shortages: pick.shortages?.length ? pick.shortages : null })
        .where(and(eq(waveShipments.waveId, record.waveId), eq(waveShipments.shipmentId, pick.shipmentId)));
    }
  });
}

const camel = (column: string) => column.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** The catalog's view of a shipment's lines: enough to choose its box and weigh it. */
async function pricedLines(db: Database, items: ShipmentReady['items']): Promise<PricedLine[]> {
  const rows = await db
    .select()
    .from(products)
    .where(
      inArray(
        products.sku,
        items.map((i) => i.sku),
      ),
    );
  return items.map((item) => {
    const p = rows.find((r) => r.sku === item.sku);
    if (!p) throw ApplicationFailure.nonRetryable(`unknown sku ${item.sku}`, FailureType.UnknownSku);
    return { ...p, quantity: item.quantity, unitPrice: p.price };
  });
}

/** The idempotency key of a shipment's label in a wave: the shipment (its order + number) and the wave. */
export const waveLabelKey = (shipmentId: string, waveId: string) => `${shipmentId}:wave-label:${waveId}`;

export function createWaveActivities({
  db,
  warehouse,
  carriers,
  waves: settings,
  now = () => new Date(),
}: ActivityDependencies) {
  return {
    /**
     * The carrier and service a shipment will be labelled with in its wave, chosen before it joins
     * (the wave buys what the shipment says): the cheapest fast enough for the speed paid for, for
     * the parcel its lines make.
     */
    async rateWaveShipment(input: {
      warehouseId: string;
      shippingAddress: ShippingAddress;
      shippingSpeed: ShippingSpeed;
      items: { sku: string; quantity: number }[];
    }): Promise<{ carrier: string; service: string; transitDays: number }> {
      const [origin] = await db.select().from(warehouses).where(eq(warehouses.id, input.warehouseId));
      if (!origin)
        throw ApplicationFailure.nonRetryable(`unknown warehouse ${input.warehouseId}`, FailureType.UnknownWarehouse);
      const lines = await pricedLines(db, input.items);
      const box = chooseBox(lines) ?? BOXES[BOXES.length - 1]!;
      const parcel = { from: origin, to: input.shippingAddress, weightGrams: packedWeightGrams(lines, box), box };
      const choice = chooseCarrierService(await carriers.rates(parcel), input.shippingSpeed);
      if (!choice)
        throw ApplicationFailure.nonRetryable(
          `no carrier service delivers ${input.shippingSpeed} to this address`,
          FailureType.NoCarrierService,
        );
      return { carrier: choice.carrier, service: choice.service, transitDays: choice.transitDays };
    },

    /**
     * Records a label a wave bought for a shipment as the shipment's label row (`<orderId>-<label
     * number>`, as `buyLabel` writes it), where the carrier's webhooks, the hand-over and the ledger
     * checks find it by tracking number. Once per label: a retry answers the row.
     */
    async recordWaveLabel(input: {
      orderId: string;
      /** The shipment's label number (workflows/order/state.ts `nextLabelNumber`). */
      shipmentNumber: number;
      waveId: string;
      transitDays: number;
      label: WaveLabel;
    }): Promise<ShipmentView> {
      const id = `${input.orderId}-${input.shipmentNumber}`;
      const { label } = input;
      await db
        .insert(shipments)
        .values({
          id,
          orderId: input.orderId,
          carrier: label.carrier,
          service: label.service,
          trackingNumber: label.trackingNumber,
          status: 'label_created',
          box: label.box,
          weightGrams: label.weightGrams,
          labelCost: label.cost,
          currency: label.currency,
          promisedBy: addBusinessDays(now(), input.transitDays),
        })
        .onConflictDoNothing();
      const [row] = await db.select().from(shipments).where(eq(shipments.id, id));
      if (!row) throw new Error(`shipment ${id} has no label`);
      return toView(row);
    },

    /**
     * A shipment joins its warehouse's waves: signal-with-start of `waves-<warehouseId>` (workflow
     * code cannot signal-with-start). A retry signals again; the wave workflow counts each
     * shipment and attempt once.
     */
    async joinWaves(ready: ShipmentReady): Promise<{ wavesWorkflowId: string }> {
      const [origin] = await db.select().from(warehouses).where(eq(warehouses.id, ready.warehouseId));
      if (!origin)
        throw ApplicationFailure.nonRetryable(`unknown warehouse ${ready.warehouseId}`, FailureType.UnknownWarehouse);
      const policy: WavePolicy = { ...(settings ?? DEFAULT_WAVE_SETTINGS), timeZone: origin.timeZone };
      const { client, info } = Context.current();
      const workflowId = wavesWorkflowId(ready.warehouseId);
      await client.workflow.signalWithStart('wavesWorkflow', {
        workflowId,
        taskQueue: info.taskQueue,
        args: [{ warehouseId: ready.warehouseId, policy }],
        signal: shipmentReadySignal,
        signalArgs: [ready],
      });
      return { wavesWorkflowId: workflowId };
    },

    /**
     * A cancelled shipment leaves its warehouse's waves: the `leaveWave` update of
     * `waves-<warehouseId>` (workflow code cannot send an update), whose answer says whether it was
     * still waiting or names the wave that released it. Idempotent: the waves workflow remembers
     * recent releases and leaves, so a retry gets the same answer. No waves workflow: nothing holds it.
     */
    async leaveWaves(leave: { warehouseId: string; shipmentId: string; attempt: number }): Promise<WaveLeave> {
      const { client } = Context.current();
      try {
        return await client.workflow
          .getHandle(wavesWorkflowId(leave.warehouseId))
          .executeUpdate(leaveWaveUpdate, { args: [{ shipmentId: leave.shipmentId, attempt: leave.attempt }] });
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return { left: true };
        throw err;
      }
    },

    /** Writes a wave's status and shipments for the API (`GET /waves`). */
    async recordWave(record: WaveRecord): Promise<void> {
      await writeWave(db, record);
    },

    /**
     * The batch pick of a wave: the pick list by zone in bin order (bins from the catalog), saved
     * with the wave (status `picking`), then handed to the warehouse as one task.
     */
    async requestWavePick(task: {
      taskId: string;
      waveId: string;
      warehouseId: string;
      /** In pick priority. */
      shipments: ShipmentReady[];
    }): Promise<PickZone[]> {
      const skus = [...new Set(task.shipments.flatMap((s) => s.items.map((i) => i.sku)))];
      const located = await db
        .select({ sku: products.sku, zone: products.zone, bin: products.bin })
        .from(products)
        .where(inArray(products.sku, skus));
      const where = new Map(located.map((p) => [p.sku, p]));
      const pickList = buildPickList(
        task.shipments.flatMap((s) =>
          s.items.map((item) => ({
            zone: where.get(item.sku)?.zone ?? 'A',
            bin: where.get(item.sku)?.bin ?? 'A-00-00',
            sku: item.sku,
            quantity: item.quantity,
            shipmentId: s.shipmentId,
          })),
        ),
        task.shipments.map((s) => s.shipmentId),
      );
      await writeWave(db, { waveId: task.waveId, warehouseId: task.warehouseId, status: 'picking' });
      await db.update(waves).set({ pickList }).where(eq(waves.id, task.waveId));
      await warehouse.requestWavePick({
        taskId: task.taskId,
        waveId: task.waveId,
        warehouseId: task.warehouseId,
        pickList,
        shipments: task.shipments.map((s) => ({ shipmentId: s.shipmentId, orderId: s.orderId })),
      });
      return pickList;
    },

    /**
     * Buys a wave's labels in one batch at the carriers, in print order (the order given: priority),
     * each under its key per wave and shipment, so a retry buys nothing twice; records them with
     * their position on the label sheet and marks the wave `labelled`.
     */
    async buyWaveLabels(input: {
      waveId: string;
      warehouseId: string;
      /** In print order. */
      shipments: ShipmentReady[];
    }): Promise<WaveLabel[]> {
      const [origin] = await db.select().from(warehouses).where(eq(warehouses.id, input.warehouseId));
      if (!origin)
        throw ApplicationFailure.nonRetryable(`unknown warehouse ${input.warehouseId}`, FailureType.UnknownWarehouse);
      const parcels: { shipment: ShipmentReady; box: Box; weightGrams: number }[] = [];
      for (const s of input.shipments) {
        const lines = await pricedLines(db, s.items);
        const box = chooseBox(lines) ?? BOXES[BOXES.length - 1]!;
        parcels.push({ shipment: s, box, weightGrams: packedWeightGrams(lines, box) });
      }
      const bought = await carriers.buyLabels(
        parcels.map((p) => ({
          idempotencyKey: waveLabelKey(p.shipment.shipmentId, input.waveId),
          carrier: p.shipment.carrier,
          service: p.shipment.service,
          from: origin,
          to: p.shipment.shipTo,
          weightGrams: p.weightGrams,
          box: p.box,
        })),
      );
      const labels: WaveLabel[] = parcels.map((p, i) => ({
        carrier: p.shipment.carrier,
        service: p.shipment.service,
        trackingNumber: bought[i]!.trackingNumber,
        cost: bought[i]!.cost,
        currency: 'USD',
        box: p.box.code,
        weightGrams: p.weightGrams,
        printPosition: i + 1,
      }));
      await db.transaction(async (tx) => {
        for (const [i, p] of parcels.entries()) {
          const label = labels[i]!;
          await tx
            .update(waveShipments)
            .set({
              printPosition: label.printPosition,
              trackingNumber: label.trackingNumber,
              labelCost: label.cost,
              box: label.box,
              weightGrams: label.weightGrams,
              labelStatus: 'sold',
            })
            .where(and(eq(waveShipments.waveId, input.waveId), eq(waveShipments.shipmentId, p.shipment.shipmentId)));
        }
      });
      await writeWave(db, { waveId: input.waveId, warehouseId: input.warehouseId, status: 'labelled' });
      return labels;
    },

    /** The undo of a wave label: void it at the carrier (once per wave and shipment); one handed over stays. */
    async voidWaveLabel(input: { waveId: string; shipmentId: string }): Promise<{ voided: string | null }> {
      const [row] = await db
        .select()
        .from(waveShipments)
        .where(and(eq(waveShipments.waveId, input.waveId), eq(waveShipments.shipmentId, input.shipmentId)));
      if (!row?.trackingNumber) return { voided: null };
      if (row.labelStatus !== 'voided') {
        try {
          await carriers.voidLabel({
            idempotencyKey: `${input.shipmentId}:void-wave-label:${input.waveId}`,
            carrier: row.carrier,
            trackingNumber: row.trackingNumber,
          });
        } catch (error) {
          if (error instanceof RequestRefusedError) return { voided: null };
          throw error;
        }
        await db.transaction(async (tx) => {
          await tx
            .update(waveShipments)
            .set({ labelStatus: 'voided' })
            .where(and(eq(waveShipments.waveId, input.waveId), eq(waveShipments.shipmentId, input.shipmentId)));
          // The shipment's own label row, if it recorded the label (still at the dock: voided with it).
          await tx
            .update(shipments)
            .set({ status: 'voided', updatedAt: new Date() })
            .where(and(eq(shipments.trackingNumber, row.trackingNumber!), eq(shipments.status, 'label_created')));
        });
      }
      return { voided: row.trackingNumber };
    },
  };
}
