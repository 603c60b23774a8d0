import { ApplicationFailure } from '@temporalio/activity';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { withCombinedSteps } from '../../activities/combined.js';
import type { OrderActivities } from '../../activities/index.js';
import { addBusinessDays } from '../../domain/calendar.js';
import { FailureType } from '../../domain/failures.js';
import { orderWorkflowId, shipmentOfLabel, shipmentOfTask, shipmentWorkflowId } from '../../domain/ids.js';
import { WorkflowNotFoundError } from '@temporalio/client';
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
  /** The first line sits only in wh-east, the rest only in wh-west: two shipments. */
  split: boolean;
  /** Units of each sku no warehouse has now (a split order's backordered remainder). */
  missing: Record<string, number>;
  /** The warehouse that comes up short on its first pick (default: whichever picks first). */
  shortAt: string | null;
  /** A warehouse that never answers (the others do). */
  silentAt: string | null;
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
    split: false,
    missing: {},
    shortAt: null,
    silentAt: null,
    failing: {},
    slow: {},
    returnsArrive: 'resalable',
    onRecord: null,
    ...settings,
  };
  const calls: { name: string; args: unknown }[] = [];
  const snapshots: OrderView[] = [];
  const notifications: string[] = [];
  const ledger: { kind: 'authorize' | 'capture' | 'void' | 'refund'; amount: number; shipment?: number }[] = [];
  const ofShipment = (kind: string, shipment?: number) =>
    ledger
      .filter((entry) => entry.kind === kind && entry.shipment === shipment)
      .reduce((total, entry) => total + entry.amount, 0);
  const parcels = new Map<string, { orderId: string; label: number }>();
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

  /** Signals the shipment's workflow the event belongs to, or the order's (old shape), as the API does. */
  async function toWorkflowOf<T>(orderId: string, shipment: number | undefined, send: (id: string) => Promise<T>) {
    if (shipment !== undefined) {
      try {
        return await send(shipmentWorkflowId(orderId, shipment));
      } catch (error) {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
      }
    }
    return send(orderWorkflowId(orderId));
  }

  async function warehouseSignal(event: Omit<WarehouseEvent, 'at'>) {
    const at = (await nowInWorkflowTime()).toISOString();
    await toWorkflowOf(event.orderId, shipmentOfTask(event.orderId, event.taskId), (id) =>
      env.client.workflow.getHandle(id).signal(warehouseEventSignal, { ...event, at }),
    );
  }

  const parts: Omit<
    OrderActivities,
    'recordPickAndRequestPack' | 'handOverAndRecordShipped' | 'quoteAndReserveShipments' | 'quoteReserveAndAuthorize'
  > = {
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
      if (!world.stockAvailable || input.lines.some((line) => (world.missing[line.sku] ?? 0) > 0))
        throw ApplicationFailure.nonRetryable('no warehouse holds every line', FailureType.OutOfStock);
      return { warehouseId: input.round === 1 ? 'wh-east' : 'wh-west' };
    },
    async reserveShipments(input) {
      await called('reserveShipments', input);
      const missing = input.lines
        .map((line) => ({ sku: line.sku, quantity: Math.min(line.quantity, world.missing[line.sku] ?? 0) }))
        .filter((line) => line.quantity > 0);
      const available = input.lines
        .map((line) => ({ sku: line.sku, quantity: line.quantity - (world.missing[line.sku] ?? 0) }))
        .filter((line) => line.quantity > 0);
      if (!world.stockAvailable || (missing.length > 0 && input.policy !== 'ship_available'))
        return { shipments: [], missing: input.lines };
      const groups = world.split
        ? [
            { warehouseId: 'wh-east', lines: available.slice(0, 1) },
            { warehouseId: 'wh-west', lines: available.slice(1) },
          ]
        : [{ warehouseId: 'wh-east', lines: available }];
      const shipments = groups
        .filter((group) => group.lines.length > 0)
        .map((group, index) => ({ shipment: input.firstShipment + index, ...group }));
      return { shipments, missing };
    },
    async voidUncaptured(input) {
      await called('voidUncaptured', input);
      if (!has('authorize') || has('void')) return { voided: 0 };
      const left = sum('authorize') - sum('capture');
      if (left <= 0) return { voided: 0 };
      ledger.push({ kind: 'void', amount: left });
      return { voided: left };
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
      if (!ledger.some((entry) => entry.kind === 'capture' && entry.shipment === input.shipment))
        ledger.push({ kind: 'capture', amount: input.amount, ...(input.shipment ? { shipment: input.shipment } : {}) });
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
      const left =
        input.shipment === undefined
          ? sum('capture') - sum('refund')
          : ofShipment('capture', input.shipment) - ofShipment('refund', input.shipment);
      const amount = Math.min(input.amount ?? Infinity, left);
      if (amount <= 0) return { refunded: 0 };
      ledger.push({ kind: 'refund', amount, ...(input.shipment ? { shipment: input.shipment } : {}) });
      return { refunded: amount };
    },
    async requestPick(task) {
      await called('requestPick', task);
      if (world.warehouse === 'silent' || world.silentAt === task.warehouseId) return;
      const shortHere = !world.shortAt || world.shortAt === task.warehouseId;
      if (shortHere) picks += 1;
      const short = shortHere && picks === 1 && world.shortPickOnce;
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
      parcels.set(trackingNumber, { orderId: input.orderId, label: input.shipmentNumber });
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
      await toWorkflowOf(task.orderId, shipmentOfTask(task.orderId, task.returnId), (id) =>
        env.client.workflow.getHandle(id).signal(returnReceivedSignal, { returnId: task.returnId, units }),
      );
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
      // Notices come with the view into the outbox (Patch.LeanBookkeeping).
      for (const notice of input.notices ?? []) notifications.push(notice.kind);
      // A scheduled notice taken back before it was due is never sent (Patch.FeedbackInOutbox).
      for (const kind of input.withdraw ?? []) notifications.splice(notifications.lastIndexOf(kind), 1);
      await world.onRecord?.(input.view, world);
    },
  };
  // The pairs compose the fakes as the worker composes the real ones (activities/index.ts).
  const activities: OrderActivities = withCombinedSteps(parts);

  async function carrierSignal(trackingNumber: string, type: CarrierEvent['type'], detail?: string) {
    const { orderId, label } = parcels.get(trackingNumber)!;
    const event = {
      trackingNumber,
      type,
      at: (await nowInWorkflowTime()).toISOString(),
      location: 'hub',
      ...(detail ? { detail } : {}),
    };
    await toWorkflowOf(orderId, shipmentOfLabel(label), (id) =>
      env.client.workflow.getHandle(id).signal(carrierEventSignal, event),
    );
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
