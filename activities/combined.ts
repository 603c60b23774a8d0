import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '../domain/failures.js';
import type { createCatalogActivities } from './catalog.js';
import type { createInventoryActivities } from './inventory.js';
import type { createPaymentActivities } from './payments.js';
import { type createReadModelActivities, withReadModelWrite } from './read-model.js';
import type { createShippingActivities } from './shipping.js';
import type { createWarehouseActivities } from './warehouse.js';

type Parts = Pick<ReturnType<typeof createCatalogActivities>, 'quoteOrder'> &
  Pick<ReturnType<typeof createInventoryActivities>, 'recordPick' | 'recordShipped' | 'reserveShipments'> &
  Pick<ReturnType<typeof createWarehouseActivities>, 'requestPack'> &
  Pick<ReturnType<typeof createShippingActivities>, 'handOverToCarrier'> &
  Pick<ReturnType<typeof createPaymentActivities>, 'authorizePayment' | 'capturePayment'> &
  Pick<ReturnType<typeof createReadModelActivities>, 'recordOrderUpdate'>;

/**
 * Steps that always run back to back, as one activity (Patch.LeanBookkeeping), so an order costs
 * fewer history events and billable actions: the stock booking rides with the warehouse or carrier
 * call next to it, and the payment steps write the milestone their success makes (the view, its
 * timeline and the notices) themselves. Each part is idempotent on its own key, so a retry of the
 * pair repeats nothing that landed. The worker and the tests' fakes compose their parts the same way.
 */
export function withCombinedSteps<P extends Parts>(parts: P) {
  type FirstReservation = Parameters<Parts['quoteOrder']>[0] & Omit<Parameters<Parts['reserveShipments']>[0], 'lines'>;
  const quoteAndReserveShipments = async ({ items, shippingSpeed, ...reserve }: FirstReservation) => {
    const quote = await parts.quoteOrder({ items, shippingSpeed });
    const lines = quote.lines.map(({ sku, quantity }) => ({ sku, quantity }));
    return { quote, reserved: await parts.reserveShipments({ ...reserve, lines }) };
  };
  return {
    ...parts,
    authorizePayment: withReadModelWrite(parts.authorizePayment, parts.recordOrderUpdate),
    capturePayment: withReadModelWrite(parts.capturePayment, parts.recordOrderUpdate),
    /**
     * Prices the order from the catalog, then reserves its shipments (nothing is reserved for an
     * order that cannot be priced): the order's first two steps, which need nothing from each other.
     */
    quoteAndReserveShipments,
    /**
     * The same, then, if anything was reserved, authorizes the priced total (Patch.FeedbackInOutbox):
     * a new order's first three steps. A decline is an answer (`declined`), not a failure, so the
     * workflow still learns what was reserved and releases it; anything else fails the whole and
     * is retried, each part on its own key (a landed reservation or authorization is not repeated).
     */
    async quoteReserveAndAuthorize({ token, ...first }: FirstReservation & { token: string }) {
      const { quote, reserved } = await quoteAndReserveShipments(first);
      if (reserved.shipments.length === 0) return { quote, reserved, authorized: false, declined: null };
      const { total: amount, currency } = quote.totals;
      try {
        await parts.authorizePayment({ orderId: first.orderId, token, amount, currency });
        return { quote, reserved, authorized: true, declined: null };
      } catch (error) {
        if (!(error instanceof ApplicationFailure) || error.type !== FailureType.PaymentDeclined) throw error;
        return { quote, reserved, authorized: false, declined: error.message };
      }
    },
    /**
     * Books the picked units out of stock, then asks the warehouse to pack them (and, given one,
     * writes the order's held view: Patch.SharedTimerAndWrites).
     */
    recordPickAndRequestPack: withReadModelWrite(
      async ({ shipment, ...task }: Parameters<Parts['requestPack']>[0] & { shipment?: number }): Promise<void> => {
        await parts.recordPick({ orderId: task.orderId, ...(shipment === undefined ? {} : { shipment }) });
        await parts.requestPack(task);
      },
      parts.recordOrderUpdate,
    ),
    /**
     * Hands the parcel to the carrier, then books its units as shipped (gone for good), and, given
     * one, writes the order's view with its `shipped` milestone (Patch.SharedTimerAndWrites).
     */
    handOverAndRecordShipped: withReadModelWrite(
      async ({
        orderId,
        shipment,
        ...parcel
      }: Parameters<Parts['handOverToCarrier']>[0] & { orderId: string; shipment?: number }): Promise<void> => {
        await parts.handOverToCarrier(parcel);
        await parts.recordShipped({ orderId, ...(shipment === undefined ? {} : { shipment }) });
      },
      parts.recordOrderUpdate,
    ),
  };
}
