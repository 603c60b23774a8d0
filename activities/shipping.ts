import { ApplicationFailure } from '@temporalio/activity';
import { eq } from 'drizzle-orm';
import { addBusinessDays } from '../domain/calendar.js';
import { FailureType } from '../domain/errors.js';
import { effectKey } from '../domain/ids.js';
import type { Box, ShipmentView } from '../domain/order.js';
import { SPEED_MAX_TRANSIT_DAYS } from '../domain/pricing.js';
import type { ShippingAddress, ShippingSpeed } from '../domain/schemas.js';
import { shipments, warehouses } from '../db/schema.js';
import type { ActivityDependencies } from './deps.js';
import type { CarrierRate } from './ports.js';

/** The cheapest service fast enough for the speed the customer paid for; ties go to the faster one. */
export function chooseCarrierService(rates: readonly CarrierRate[], speed: ShippingSpeed): CarrierRate | null {
  const fastEnough = rates.filter((rate) => rate.transitDays <= SPEED_MAX_TRANSIT_DAYS[speed]);
  fastEnough.sort((a, b) => a.cost - b.cost || a.transitDays - b.transitDays || a.carrier.localeCompare(b.carrier));
  return fastEnough[0] ?? null;
}

function toView(row: typeof shipments.$inferSelect): ShipmentView {
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

export function createShippingActivities({ db, carriers, now = () => new Date() }: ActivityDependencies) {
  return {
    /**
     * Rate-shops the carriers and buys one label. The shipment row is keyed by order, so a retry
     * returns the label already bought instead of buying another.
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
      const shipmentId = `${input.orderId}-${input.shipmentNumber}`;
      const [existing] = await db.select().from(shipments).where(eq(shipments.id, shipmentId));
      if (existing) return toView(existing);
      const [origin] = await db.select().from(warehouses).where(eq(warehouses.id, input.warehouseId));
      if (!origin) throw ApplicationFailure.nonRetryable(`unknown warehouse ${input.warehouseId}`, 'UnknownWarehouse');
      const parcel = { from: origin, to: input.shippingAddress, weightGrams: input.weightGrams, box: input.box };
      const choice = chooseCarrierService(await carriers.rates(parcel), input.shippingSpeed);
      if (!choice) throw ApplicationFailure.nonRetryable(`no carrier service delivers ${input.shippingSpeed} to this address`, FailureType.NoCarrierService);
      const label = await carriers.buyLabel({
        ...parcel,
        idempotencyKey: effectKey(input.orderId, input.shipmentNumber === 1 ? 'label' : `label:${input.shipmentNumber}`),
        carrier: choice.carrier,
        service: choice.service,
      });
      await db
        .insert(shipments)
        .values({
          id: shipmentId,
          orderId: input.orderId,
          carrier: choice.carrier,
          service: choice.service,
          trackingNumber: label.trackingNumber,
          status: 'label_created',
          box: input.box.code,
          weightGrams: input.weightGrams,
          labelCost: label.cost,
          currency: choice.currency,
          promisedBy: addBusinessDays(now(), choice.transitDays),
        })
        .onConflictDoNothing();
      const [row] = await db.select().from(shipments).where(eq(shipments.id, shipmentId));
      return toView(row!);
    },

    /** Voids an order's label if one was bought (the order was cancelled before it left). */
    async voidLabel(input: { orderId: string; shipmentNumber: number }): Promise<{ voided: string | null }> {
      const [shipment] = await db.select().from(shipments).where(eq(shipments.id, `${input.orderId}-${input.shipmentNumber}`));
      // Only a label still at the dock can be voided; one the carrier has is in use.
      if (!shipment || (shipment.status !== 'label_created' && shipment.status !== 'voided')) return { voided: null };
      if (shipment.status !== 'voided') {
        await carriers.voidLabel({ carrier: shipment.carrier, trackingNumber: shipment.trackingNumber });
        await db.update(shipments).set({ status: 'voided', updatedAt: new Date() }).where(eq(shipments.id, shipment.id));
      }
      return { voided: shipment.trackingNumber };
    },

    /** A prepaid return label from the customer's address to the warehouse that shipped the order. */
    async buyReturnLabel(input: { returnId: string; warehouseId: string; from: ShippingAddress }): Promise<{ carrier: string; trackingNumber: string }> {
      const [warehouse] = await db.select().from(warehouses).where(eq(warehouses.id, input.warehouseId));
      if (!warehouse) throw ApplicationFailure.nonRetryable(`unknown warehouse ${input.warehouseId}`, 'UnknownWarehouse');
      return carriers.buyReturnLabel({ idempotencyKey: `${input.returnId}:return-label`, from: input.from, to: warehouse });
    },

    /** Asks the carrier to search for a late or lost parcel. */
    async openCarrierTrace(input: { carrier: string; trackingNumber: string; reason: string }): Promise<{ traceId: string }> {
      return carriers.openTrace(input);
    },

    /** The parcel leaves the dock; from now on the carrier reports its scans. */
    async handOverToCarrier(input: { carrier: string; service: string; trackingNumber: string }): Promise<void> {
      await carriers.handOver(input);
    },
  };
}
