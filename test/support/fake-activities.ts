import { ApplicationFailure } from '@temporalio/activity';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { OrderActivities } from '../../activities/index.js';
import { addBusinessDays } from '../../domain/calendar.js';
import { FailureType } from '../../domain/failures.js';
import { orderWorkflowId } from '../../domain/ids.js';
import { carrierEventSignal, returnReceivedSignal, warehouseEventSignal } from '../../domain/messages.js';
import type { OrderView, PricedLine } from '../../domain/order.js';
import { orderTotals } from '../../domain/pricing.js';
import type { CarrierEvent, WarehouseEvent } from '../../domain/schemas.js';
import { DEMO_PRODUCTS } from '../../db/seed.js';

export interface FakeWorld {
  /** How the warehouse answers a task: at once, never, picks but never packs, or a wrong weight on the first pack. */
  warehouse: 'prompt' | 'silent' | 'pick-only' | 'wrong-weight-once';
  /** Units the first pick comes up short of. */
  shortPickOnce: { sku: string; quantity: number } | null;
  /** The scans the carrier sends after hand-over (in this order); empty = the carrier stays silent. */
  carrierScans: CarrierEvent['type'][];
  /** Scans for the first parcel only, when it should fare differently from a reship. */
  firstParcelScans: CarrierEvent['type'][] | null;
  /** Whether any warehouse can ship the order now (flip it, then signal, to model a restock). */
  stockAvailable: boolean;
  /** Activities that fail with a transient error this many more times. */
  failing: Partial<Record<keyof OrderActivities, number>>;
  /** Real milliseconds an activity takes (time does not skip while an activity runs). */
  slow: Partial<Record<keyof OrderActivities, number>>;
  /** How the customer's return parcels come back: at once and resalable, with one unit damaged, or never. */
  returnsArrive: 'resalable' | 'one-damaged' | 'never';
  /** Runs inside each read-model write, before it returns: something that happens while the workflow records. */
  onRecord: ((view: OrderView, world: FakeWorld) => Promise<void>) | null;
}

/**
 * Typed stand-ins for every activity, for workflow tests on the time-skipping server. The external
 * parties answer the way real ones do: by signalling the workflow (what the API does for their
 * webhooks), never by reaching into it. Money keeps a small ledger with the gateway's rules, so a
 * test can check what the customer was charged in the end.
 */
export function fakeActivities(env: TestWorkflowEnvironment, settings: Partial<FakeWorld> = {}) {
  const world: FakeWorld = {
    warehouse: 'prompt',
    shortPickOnce: null,
    carrierScans: ['in_transit', 'out_for_delivery', 'delivered'],
    firstParcelScans: null,
    stockAvailable: true,
    failing: {},
    slow: {},
    returnsArrive: 'resalable',
    onRecord: null,
    ...settings,
  };
  const calls: { name: string; args: unknown }[] = [];
  const snapshots: OrderView[] = [];
  const notifications: string[] = [];
  const ledger: { kind: 'authorize' | 'capture' | 'void' | 'refund'; amount: number }[] = [];
  const parcels = new Map<string, string>();
  let packs = 0;
  let picks = 0;
  const nowInWorkflowTime = async () => new Date(await env.currentTimeMs());
  const has = (kind: string) => ledger.some((entry) => entry.kind === kind);
  const sum = (kind: string) =>
    ledger.filter((entry) => entry.kind === kind).reduce((total, entry) => total + entry.amount, 0);

  async function called(name: keyof OrderActivities, args: unknown): Promise<void> {
    calls.push({ name, args: structuredClone(args) });
    const delay = world.slow[name];
    if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
    const failures = world.failing[name] ?? 0;
    if (failures > 0) {
      world.failing[name] = failures - 1;
      throw new Error(`${name}: simulated outage`);
    }
  }

  async function warehouseSignal(event: Omit<WarehouseEvent, 'at'>) {
    await env.client.workflow
      .getHandle(orderWorkflowId(event.orderId))
      .signal(warehouseEventSignal, { ...event, at: (await nowInWorkflowTime()).toISOString() });
  }

  const activities: OrderActivities = {
    async quoteOrder(input) {
      await called('quoteOrder', input);
      const lines: PricedLine[] = input.items.map((item) => {
        const product = DEMO_PRODUCTS.find((p) => p.sku === item.sku);
        if (!product) throw ApplicationFailure.nonRetryable(`unknown sku: ${item.sku}`, FailureType.UnknownSku);
        return { ...product, quantity: item.quantity, unitPrice: product.price };
      });
      return { lines, totals: orderTotals(lines, input.shippingSpeed, 'USD') };
    },
    async reserveStock(input) {
      await called('reserveStock', input);
      if (!world.stockAvailable)
        throw ApplicationFailure.nonRetryable('no warehouse holds every line', FailureType.OutOfStock);
      return { warehouseId: input.round === 1 ? 'wh-east' : 'wh-west' };
    },
    async releaseStock(input) {
      await called('releaseStock', input);
    },
    async recordPick(input) {
      await called('recordPick', input);
    },
    async returnPickedToShelf(input) {
      await called('returnPickedToShelf', input);
    },
    async recordShortPick(input) {
      await called('recordShortPick', input);
    },
    async authorizePayment(input) {
      await called('authorizePayment', input);
      if (input.token === 'tok_decline')
        throw ApplicationFailure.nonRetryable('card declined by issuer', FailureType.PaymentDeclined);
      if (!has('authorize')) ledger.push({ kind: 'authorize', amount: input.amount });
      return { reference: `auth-${input.orderId}` };
    },
    async capturePayment(input) {
      await called('capturePayment', input);
      if (!has('capture')) ledger.push({ kind: 'capture', amount: input.amount });
      return { reference: `capture-${input.orderId}` };
    },
    async voidPayment(input) {
      await called('voidPayment', input);
      if (!has('authorize') || has('capture') || has('void')) return { voided: 0 };
      ledger.push({ kind: 'void', amount: sum('authorize') });
      return { voided: sum('authorize') };
    },
    async refundPayment(input) {
      await called('refundPayment', input);
      const amount = Math.min(input.amount ?? Infinity, sum('capture') - sum('refund'));
      if (amount <= 0) return { refunded: 0 };
      ledger.push({ kind: 'refund', amount });
      return { refunded: amount };
    },
    async requestPick(task) {
      await called('requestPick', task);
      if (world.warehouse === 'silent') return;
      picks += 1;
      const short = picks === 1 && world.shortPickOnce;
      await warehouseSignal({
        taskId: task.taskId,
        orderId: task.orderId,
        type: 'pick_completed',
        ...(short ? { shortages: [{ ...short, reason: 'missing' as const }] } : {}),
      });
    },
    async requestPack(task) {
      await called('requestPack', task);
      if (world.warehouse === 'silent' || world.warehouse === 'pick-only') return;
      packs += 1;
      const wrong = world.warehouse === 'wrong-weight-once' && packs === 1;
      await warehouseSignal({
        taskId: task.taskId,
        orderId: task.orderId,
        type: 'pack_completed',
        measuredWeightGrams: wrong ? task.expectedWeightGrams * 2 : task.expectedWeightGrams,
      });
    },
    async cancelWarehouseTask(task) {
      await called('cancelWarehouseTask', task);
    },
    async requestReturnToShelf(task) {
      await called('requestReturnToShelf', task);
    },
    async buyLabel(input) {
      await called('buyLabel', input);
      const trackingNumber = `PP${input.shipmentNumber}-${input.orderId}`;
      parcels.set(trackingNumber, input.orderId);
      return {
        shipmentId: `${input.orderId}-${input.shipmentNumber}`,
        carrier: 'parcelpost',
        service: 'ground',
        trackingNumber,
        status: 'label_created',
        box: input.box.code,
        weightGrams: input.weightGrams,
        promisedBy: addBusinessDays(await nowInWorkflowTime(), 5).toISOString(),
      };
    },
    async voidLabel(input) {
      await called('voidLabel', input);
      return { voided: calls.some((c) => c.name === 'buyLabel') ? `PP${input.shipmentNumber}-${input.orderId}` : null };
    },
    async openCarrierTrace(input) {
      await called('openCarrierTrace', input);
      return { traceId: `trace-${input.trackingNumber}` };
    },
    async buyReturnLabel(input) {
      await called('buyReturnLabel', input);
      return { carrier: 'parcelpost', trackingNumber: `PR-${input.returnId}` };
    },
    async expectReturnParcel(task) {
      await called('expectReturnParcel', task);
      if (world.returnsArrive === 'never') return;
      const units = task.items.flatMap((item, index) =>
        world.returnsArrive === 'one-damaged' && index === 0
          ? [
              { sku: item.sku, quantity: 1, condition: 'damaged' as const },
              ...(item.quantity > 1
                ? [{ sku: item.sku, quantity: item.quantity - 1, condition: 'resalable' as const }]
                : []),
            ]
          : [{ ...item, condition: 'resalable' as const }],
      );
      await env.client.workflow
        .getHandle(orderWorkflowId(task.orderId))
        .signal(returnReceivedSignal, { returnId: task.returnId, units });
    },
    async recordReturn(input) {
      await called('recordReturn', input);
    },
    async restockReturnedUnits(input) {
      await called('restockReturnedUnits', input);
    },
    async recordShipped(input) {
      await called('recordShipped', input);
    },
    async handOverToCarrier(input) {
      await called('handOverToCarrier', input);
      const first = input.trackingNumber.startsWith('PP1-');
      for (const type of (first && world.firstParcelScans) || world.carrierScans)
        await carrierSignal(input.trackingNumber, type);
    },
    async notifyCustomer(input) {
      await called('notifyCustomer', input);
      notifications.push(input.kind);
    },
    async recordOrderUpdate(input) {
      snapshots.push(structuredClone(input.view));
      await world.onRecord?.(input.view, world);
    },
  };

  async function carrierSignal(trackingNumber: string, type: CarrierEvent['type'], detail?: string) {
    const orderId = parcels.get(trackingNumber)!;
    await env.client.workflow.getHandle(orderWorkflowId(orderId)).signal(carrierEventSignal, {
      trackingNumber,
      type,
      at: (await nowInWorkflowTime()).toISOString(),
      location: 'hub',
      ...(detail ? { detail } : {}),
    });
  }

  return {
    activities,
    world,
    calls,
    snapshots,
    notifications,
    ledger,
    carrierSignal,
    /** What the customer paid in the end. */
    charged: () => sum('capture') - sum('refund'),
    names: () => calls.map((c) => c.name),
  };
}
