import { ApplicationFailure } from '@temporalio/activity';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { OrderActivities } from '../../activities/index.js';
import { addBusinessDays } from '../../domain/calendar.js';
import { FailureType } from '../../domain/errors.js';
import { orderWorkflowId } from '../../domain/ids.js';
import { carrierEventSignal, warehouseEventSignal } from '../../domain/messages.js';
import type { OrderView, PricedLine } from '../../domain/order.js';
import { orderTotals } from '../../domain/pricing.js';
import type { CarrierEvent } from '../../domain/schemas.js';
import { DEMO_PRODUCTS } from '../../db/seed.js';

export interface FakeWorld {
  /** How the warehouse answers a task: at once, never, or with a wrong weight on the first pack. */
  warehouse: 'prompt' | 'silent' | 'wrong-weight-once';
  /** The scans the carrier sends after hand-over (in this order); empty = the carrier stays silent. */
  carrierScans: CarrierEvent['type'][];
  stockAvailable: boolean;
}

/**
 * Typed stand-ins for every activity, for workflow tests on the time-skipping server. The external
 * parties answer the way real ones do: by signalling the workflow (what the API does for their
 * webhooks), never by reaching into it.
 */
export function fakeActivities(env: TestWorkflowEnvironment, world: Partial<FakeWorld> = {}) {
  const setting: FakeWorld = { warehouse: 'prompt', carrierScans: ['in_transit', 'out_for_delivery', 'delivered'], stockAvailable: true, ...world };
  const calls: { name: string; args: unknown }[] = [];
  const snapshots: OrderView[] = [];
  const notifications: string[] = [];
  let packs = 0;
  const called = (name: string, args: unknown) => calls.push({ name, args: structuredClone(args) });
  const nowInWorkflowTime = async () => new Date(await env.currentTimeMs());

  const activities: OrderActivities = {
    async quoteOrder(input) {
      called('quoteOrder', input);
      const lines: PricedLine[] = input.items.map((item) => {
        const product = DEMO_PRODUCTS.find((p) => p.sku === item.sku);
        if (!product) throw ApplicationFailure.nonRetryable(`unknown sku: ${item.sku}`, FailureType.UnknownSku);
        return { ...product, quantity: item.quantity, unitPrice: product.price };
      });
      return { lines, totals: orderTotals(lines, input.shippingSpeed, 'USD') };
    },
    async reserveStock(input) {
      called('reserveStock', input);
      if (!setting.stockAvailable) throw ApplicationFailure.nonRetryable('no warehouse holds every line', FailureType.OutOfStock);
      return { warehouseId: 'wh-east' };
    },
    async releaseStock(input) {
      called('releaseStock', input);
    },
    async recordPick(input) {
      called('recordPick', input);
    },
    async authorizePayment(input) {
      called('authorizePayment', input);
      if (input.token === 'tok_decline') throw ApplicationFailure.nonRetryable('card declined by issuer', FailureType.PaymentDeclined);
      return { reference: `auth-${input.orderId}` };
    },
    async capturePayment(input) {
      called('capturePayment', input);
      return { reference: `capture-${input.orderId}` };
    },
    async requestPick(task) {
      called('requestPick', task);
      if (setting.warehouse === 'silent') return;
      await env.client.workflow
        .getHandle(orderWorkflowId(task.orderId))
        .signal(warehouseEventSignal, { taskId: task.taskId, orderId: task.orderId, type: 'pick_completed', at: (await nowInWorkflowTime()).toISOString() });
    },
    async requestPack(task) {
      called('requestPack', task);
      if (setting.warehouse === 'silent') return;
      packs += 1;
      const wrong = setting.warehouse === 'wrong-weight-once' && packs === 1;
      await env.client.workflow.getHandle(orderWorkflowId(task.orderId)).signal(warehouseEventSignal, {
        taskId: task.taskId,
        orderId: task.orderId,
        type: 'pack_completed',
        at: (await nowInWorkflowTime()).toISOString(),
        measuredWeightGrams: wrong ? task.expectedWeightGrams * 2 : task.expectedWeightGrams,
      });
    },
    async buyLabel(input) {
      called('buyLabel', input);
      return {
        carrier: 'parcelpost',
        service: 'ground',
        trackingNumber: `PP${input.orderId}`,
        status: 'shipped',
        box: input.box.code,
        weightGrams: input.weightGrams,
        promisedBy: addBusinessDays(await nowInWorkflowTime(), 5).toISOString(),
      };
    },
    async handOverToCarrier(input) {
      called('handOverToCarrier', input);
      for (const type of setting.carrierScans) {
        await carrierSignal(input.trackingNumber, type);
      }
    },
    async notifyCustomer(input) {
      called('notifyCustomer', input);
      notifications.push(input.kind);
    },
    async recordOrderUpdate(input) {
      snapshots.push(structuredClone(input.view));
    },
  };

  async function carrierSignal(trackingNumber: string, type: CarrierEvent['type']) {
    const orderId = trackingNumber.slice(2);
    await env.client.workflow
      .getHandle(orderWorkflowId(orderId))
      .signal(carrierEventSignal, { trackingNumber, type, at: (await nowInWorkflowTime()).toISOString(), location: 'hub' });
  }

  return { activities, calls, snapshots, notifications, carrierSignal, names: () => calls.map((c) => c.name) };
}
