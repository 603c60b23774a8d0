import { ApplicationFailure } from '@temporalio/activity';
import { and, eq } from 'drizzle-orm';
import { addBusinessDays } from '../domain/calendar.js';
import { FailureType } from '../domain/failures.js';
import { effectKey } from '../domain/ids.js';
import type { Box, ShipmentView } from '../domain/order.js';
import { SPEED_MAX_TRANSIT_DAYS } from '../domain/pricing.js';
import type { ShippingAddress, ShippingSpeed } from '../domain/schemas.js';
import { shipments, warehouses } from '../db/schema.js';
import type { ActivityDependencies } from './deps.js';
import { countBusinessEvent } from './metrics.js';
import { type CarrierRate, RequestRefusedError } from './ports.js';

/** The cheapest service fast enough for the speed the customer paid for; ties go to the faster one. */
export function chooseCarrierService(rates: readonly CarrierRate[], speed: ShippingSpeed): CarrierRate | null {
  const fastEnough = rates.filter((rate) => rate.transitDays <= SPEED_MAX_TRANSIT_DAYS[speed]);
  fastEnough.sort((a, b) => a.cost - b.cost || a.transitDays - b.transitDays || a.carrier.localeCompare(b.carrier));
  return fastEnough[0] ?? null;
}

type ShipmentRow = typeof shipments.$inferSelect;

/** A shipment row with its label as the workflow sees it (waves record theirs the same way). */
export function toView(row: ShipmentRow): ShipmentView {
  if (row.trackingNumber === null) throw new Error(`shipment ${row.id} has no label yet`);
  return {
    shipmentId: row.id,
    carrier: row.carrier,
    service: row.service,
    trackingNumber: row.trackingNumber,
    status: row.status as ShipmentView['status'],
    box: row.box,
    weightGrams: row.weightGrams,
    promisedBy: row.promisedBy.toISOString(),
  };
}

/** Idempotency key of one step of an order's shipment: `<orderId>:<step>`, `<orderId>:<step>:<n>` from the second on. */
function shipmentStepKey(orderId: string, shipmentNumber: number, step: string): string {
  return effectKey(orderId, shipmentNumber === 1 ? step : `${step}:${shipmentNumber}`);
}

const shipmentIdOf = (orderId: string, shipmentNumber: number) => `${orderId}-${shipmentNumber}`;

/** A refusal is the carrier's last word: retrying cannot change it. */
function finalRefusal(error: unknown): never {
  if (error instanceof RequestRefusedError)
    throw ApplicationFailure.nonRetryable(error.message, FailureType.RefusedByParty);
  throw error;
}

export function createShippingActivities({ db, carriers, now = () => new Date() }: ActivityDependencies) {
  async function shipment(id: string): Promise<ShipmentRow | null> {
    const [row] = await db.select().from(shipments).where(eq(shipments.id, id));
    return row ?? null;
  }

  /** The key of a step of the shipment that owns a label (found by its tracking number), or one from the label itself. */
  async function keyOfLabel(carrier: string, trackingNumber: string, step: string): Promise<string> {
    const [row] = await db
      .select()
      .from(shipments)
      .where(and(eq(shipments.carrier, carrier), eq(shipments.trackingNumber, trackingNumber)));
    if (!row) return `${carrier}:${trackingNumber}:${step}`;
    return shipmentStepKey(row.orderId, Number(row.id.slice(row.orderId.length + 1)), step);
  }

  /** Records the label the carrier sold under a pending shipment's key; returns the row as it is now. */
  async function recordLabel(id: string, label: { trackingNumber: string; cost: number }): Promise<ShipmentRow> {
    await db
      .update(shipments)
      .set({
        trackingNumber: label.trackingNumber,
        labelCost: label.cost,
        status: 'label_created',
        updatedAt: new Date(),
      })
      .where(and(eq(shipments.id, id), eq(shipments.status, 'label_pending')));
    return (await shipment(id))!;
  }

  return {
    /**
     * Rate-shops the carriers and buys one label. The choice is saved first (a `label_pending`
     * shipment row keyed by order and shipment number), so a retry after a lost answer buys the
     * saved carrier and service under the same idempotency key (the same label), never re-rates
     * into a second label; a bought label is answered from the row.
     */
    async buyLabel(input: {
      orderId: string;
      /** 1 for the first shipment; a reship is 2, and so on. */
      shipmentNumber: number;
      warehouseId: string;
      shippingAddress: ShippingAddress;
      shippingSpeed: ShippingSpeed;
      box: Box;
      weightGrams: number;
    }): Promise<ShipmentView> {
      const shipmentId = shipmentIdOf(input.orderId, input.shipmentNumber);
      const idempotencyKey = shipmentStepKey(input.orderId, input.shipmentNumber, 'label');
      const abandoned = () =>
        ApplicationFailure.nonRetryable(
          `shipment ${shipmentId} was abandoned: its order closed before a label was bought`,
          FailureType.LabelAbandoned,
        );
      let row = await shipment(shipmentId);
      if (row?.status === 'label_abandoned') throw abandoned();
      if (row && row.status !== 'label_pending') return toView(row);
      const [origin] = await db.select().from(warehouses).where(eq(warehouses.id, input.warehouseId));
      if (!origin)
        throw ApplicationFailure.nonRetryable(`unknown warehouse ${input.warehouseId}`, FailureType.UnknownWarehouse);
      const parcel = { from: origin, to: input.shippingAddress, weightGrams: input.weightGrams, box: input.box };
      if (!row) {
        const choice = chooseCarrierService(await carriers.rates(parcel), input.shippingSpeed);
        if (!choice)
          throw ApplicationFailure.nonRetryable(
            `no carrier service delivers ${input.shippingSpeed} to this address`,
            FailureType.NoCarrierService,
          );
        await db
          .insert(shipments)
          .values({
            id: shipmentId,
            orderId: input.orderId,
            carrier: choice.carrier,
            service: choice.service,
            trackingNumber: null,
            status: 'label_pending',
            box: input.box.code,
            weightGrams: input.weightGrams,
            labelCost: null,
            currency: choice.currency,
            promisedBy: addBusinessDays(now(), choice.transitDays),
          })
          .onConflictDoNothing();
        // A concurrent attempt may have saved its choice first: one choice per shipment, and it is that one.
        // Or the undo came first and left the shipment abandoned: this late attempt buys nothing.
        row = (await shipment(shipmentId))!;
        if (row.status === 'label_abandoned') throw abandoned();
      }
      const label = await carriers
        .buyLabel({ ...parcel, idempotencyKey, carrier: row.carrier, service: row.service })
        .catch(finalRefusal);
      row = await recordLabel(shipmentId, label);
      if (row.status === 'label_abandoned') {
        // The order closed and its undo found no label while this attempt was buying one: void it, unbilled.
        await carriers
          .voidLabel({
            idempotencyKey: shipmentStepKey(input.orderId, input.shipmentNumber, 'void-label'),
            carrier: row.carrier,
            trackingNumber: label.trackingNumber,
          })
          .catch(finalRefusal);
        throw ApplicationFailure.nonRetryable(
          `shipment ${shipmentId} was abandoned while its label was bought; the label was voided`,
          FailureType.LabelAbandoned,
        );
      }
      if (input.shipmentNumber > 1) countBusinessEvent('order_reships');
      return toView(row);
    },

    /**
     * Voids an order's label if one was bought (the order was cancelled before it left). First
     * learns from the carrier what the purchase under the shipment's key did (its answer may never
     * have reached the shipment row): a label found is recorded, then voided; none found, the
     * pending shipment is `label_abandoned`. A label the carrier already has is in use: not voided.
     */
    async voidLabel(input: { orderId: string; shipmentNumber: number }): Promise<{ voided: string | null }> {
      const shipmentId = shipmentIdOf(input.orderId, input.shipmentNumber);
      const labelKey = shipmentStepKey(input.orderId, input.shipmentNumber, 'label');
      const idempotencyKey = shipmentStepKey(input.orderId, input.shipmentNumber, 'void-label');
      let row = await shipment(shipmentId);
      if (!row || row.status === 'label_pending') {
        const found = await carriers.findLabel({ idempotencyKey: labelKey });
        if (!found) {
          // No carrier chosen yet, but an attempt that timed out may still be running on a slow
          // worker: the abandoned row is what stops it buying a label after this undo (the chaos
          // suite found such a label unused, at load 15+). Nothing was chosen, so nothing is named.
          if (!row)
            await db
              .insert(shipments)
              .values({
                id: shipmentId,
                orderId: input.orderId,
                carrier: '',
                service: '',
                trackingNumber: null,
                status: 'label_abandoned',
                box: '',
                weightGrams: 0,
                labelCost: null,
                currency: '',
                promisedBy: now(),
              })
              .onConflictDoNothing();
          // A pending choice (ours, or one a late attempt saved meanwhile) had no label sold under its key.
          await db
            .update(shipments)
            .set({ status: 'label_abandoned', updatedAt: new Date() })
            .where(and(eq(shipments.id, shipmentId), eq(shipments.status, 'label_pending')));
          row = (await shipment(shipmentId))!;
          // A purchase that landed meanwhile recorded its label: void that one below.
          if (row.status === 'label_abandoned') return { voided: null };
        } else if (!row) {
          // Sold with no shipment row (bought before choices were saved): void it at the carrier all the same.
          if (found.status === 'handed_over') return { voided: null };
          if (found.status === 'sold')
            await carriers
              .voidLabel({ idempotencyKey, carrier: found.carrier, trackingNumber: found.trackingNumber })
              .catch(finalRefusal);
          return { voided: found.trackingNumber };
        } else {
          row = await recordLabel(shipmentId, found);
        }
      }
      // Only a label still at the dock can be voided; one the carrier has is in use.
      if ((row.status !== 'label_created' && row.status !== 'voided') || !row.trackingNumber) return { voided: null };
      if (row.status !== 'voided') {
        try {
          await carriers.voidLabel({ idempotencyKey, carrier: row.carrier, trackingNumber: row.trackingNumber });
        } catch (error) {
          // The carrier already has the parcel (handed over, the answer lost): nothing to void.
          if (
            error instanceof RequestRefusedError &&
            (await carriers.findLabel({ idempotencyKey: labelKey }))?.status === 'handed_over'
          )
            return { voided: null };
          finalRefusal(error);
        }
        await db.update(shipments).set({ status: 'voided', updatedAt: new Date() }).where(eq(shipments.id, row.id));
      }
      return { voided: row.trackingNumber };
    },

    /** A prepaid return label from the customer's address to the warehouse that shipped the order. */
    async buyReturnLabel(input: {
      returnId: string;
      warehouseId: string;
      from: ShippingAddress;
    }): Promise<{ carrier: string; trackingNumber: string }> {
      const [warehouse] = await db.select().from(warehouses).where(eq(warehouses.id, input.warehouseId));
      if (!warehouse)
        throw ApplicationFailure.nonRetryable(`unknown warehouse ${input.warehouseId}`, FailureType.UnknownWarehouse);
      return carriers.buyReturnLabel({
        idempotencyKey: `${input.returnId}:return-label`,
        from: input.from,
        to: warehouse,
      });
    },

    /** Asks the carrier to search for a late or lost parcel, once per shipment (key `<orderId>:trace[:<n>]`). */
    async openCarrierTrace(input: {
      carrier: string;
      trackingNumber: string;
      reason: string;
    }): Promise<{ traceId: string }> {
      const idempotencyKey = await keyOfLabel(input.carrier, input.trackingNumber, 'trace');
      return carriers.openTrace({ ...input, idempotencyKey });
    },

    /** The parcel leaves the dock; from now on the carrier reports its scans (key `<orderId>:hand-over[:<n>]`). */
    async handOverToCarrier(input: { carrier: string; service: string; trackingNumber: string }): Promise<void> {
      const idempotencyKey = await keyOfLabel(input.carrier, input.trackingNumber, 'hand-over');
      await carriers.handOver({ ...input, idempotencyKey }).catch(finalRefusal);
    },
  };
}
