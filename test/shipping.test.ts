import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActivityDependencies } from '../activities/deps.js';
import type { Carriers, WarehouseSystem } from '../activities/ports.js';
import { createShippingActivities } from '../activities/shipping.js';
import { createWarehouseActivities } from '../activities/warehouse.js';
import type { Database } from '../db/client.js';
import { shipments, simulatorLabels, simulatorRequests } from '../db/schema.js';
import { BOXES } from '../domain/packaging.js';
import { createSimulatedCarriers } from '../simulators/carriers.js';
import { createSimulatedWarehouse } from '../simulators/warehouse.js';
import { newOrderId, orderRequest } from './support/orders.js';
import { activityRunner } from './support/activity-env.js';
import { testDatabase } from './support/database.js';

let db: Database;
const run = activityRunner();

beforeAll(async () => {
  db = await testDatabase();
});

afterAll(async () => {
  await db.close();
});

/**
 * The simulated carriers behind a line that can fail: `loseNextAnswer` lets the next label purchase
 * reach the carrier and loses its answer (the attempt dies after the carrier sold the label);
 * `failNextPurchase` fails the next one before it reaches the carrier; `cheaper` discounts a carrier's rates from now on (prices move between attempts). Every request
 * is kept in `calls`.
 */
function unreliableCarriers() {
  const carriers = createSimulatedCarriers({ db, delayScale: 0 });
  const line = {
    loseNextAnswer: false,
    failNextPurchase: false,
    cheaper: null as string | null,
    calls: [] as { method: string; request: object }[],
  };
  const port: Carriers = {
    async rates(parcel) {
      const rates = await carriers.rates(parcel);
      return rates.map((rate) => (rate.carrier === line.cheaper ? { ...rate, cost: 1 } : rate));
    },
    async buyLabel(request) {
      line.calls.push({ method: 'buyLabel', request });
      if (line.failNextPurchase) {
        line.failNextPurchase = false;
        throw new Error('carrier unavailable');
      }
      const label = await carriers.buyLabel(request);
      if (line.loseNextAnswer) {
        line.loseNextAnswer = false;
        throw new Error('connection reset by peer');
      }
      return label;
    },
    buyLabels: (requests) => carriers.buyLabels(requests),
    findLabel: (request) => carriers.findLabel(request),
    buyReturnLabel: (request) => carriers.buyReturnLabel(request),
    openTrace: (request) => (line.calls.push({ method: 'openTrace', request }), carriers.openTrace(request)),
    voidLabel: (request) => (line.calls.push({ method: 'voidLabel', request }), carriers.voidLabel(request)),
    handOver: (request) => (line.calls.push({ method: 'handOver', request }), carriers.handOver(request)),
  };
  const shipping = createShippingActivities({ db, carriers: port } as ActivityDependencies);
  return { line, carriers, shipping };
}

function labelRequest(orderId: string, shipmentNumber = 1) {
  return {
    orderId,
    shipmentNumber,
    warehouseId: 'wh-east',
    shippingAddress: orderRequest().shippingAddress,
    shippingSpeed: 'standard' as const,
    box: BOXES[0]!,
    weightGrams: 800,
  };
}

async function labelsSoldUnder(idempotencyKey: string) {
  return db.select().from(simulatorLabels).where(eq(simulatorLabels.idempotencyKey, idempotencyKey));
}

async function shipmentRow(orderId: string, shipmentNumber = 1) {
  const [row] = await db
    .select()
    .from(shipments)
    .where(eq(shipments.id, `${orderId}-${shipmentNumber}`));
  return row;
}

describe('buyLabel', () => {
  it('buys one label when a retry follows a lost answer, even if another carrier became cheaper meanwhile', async () => {
    const { line, shipping } = unreliableCarriers();
    const orderId = newOrderId();
    line.loseNextAnswer = true;
    await expect(run(shipping.buyLabel, labelRequest(orderId))).rejects.toThrow(/connection reset/);
    const [first] = await labelsSoldUnder(`${orderId}:label`);
    // The retry sees other prices: re-rating would now choose another carrier.
    line.cheaper = ['parcelpost', 'swiftship', 'coastline'].find((carrier) => carrier !== first!.carrier)!;
    const shipment = await run(shipping.buyLabel, labelRequest(orderId));
    const sold = await labelsSoldUnder(`${orderId}:label`);
    expect(sold).toHaveLength(1);
    expect(shipment).toMatchObject({
      carrier: first!.carrier,
      service: first!.service,
      trackingNumber: first!.trackingNumber,
      status: 'label_created',
    });
    expect(
      line.calls
        .filter((call) => call.method === 'buyLabel')
        .map((call) => (call.request as { carrier: string }).carrier),
    ).toEqual([first!.carrier, first!.carrier]);
  });

  it('answers a bought label from the shipment, however often it is retried', async () => {
    const { line, shipping } = unreliableCarriers();
    const orderId = newOrderId();
    const first = await run(shipping.buyLabel, labelRequest(orderId));
    expect(await run(shipping.buyLabel, labelRequest(orderId))).toEqual(first);
    expect(line.calls.filter((call) => call.method === 'buyLabel')).toHaveLength(1);
  });
});

describe('voidLabel', () => {
  it('voids the label a lost answer left unrecorded, so it is not billed', async () => {
    const { line, carriers, shipping } = unreliableCarriers();
    const orderId = newOrderId();
    line.loseNextAnswer = true;
    await expect(run(shipping.buyLabel, labelRequest(orderId))).rejects.toThrow(/connection reset/);
    const { voided } = await run(shipping.voidLabel, { orderId, shipmentNumber: 1 });
    const label = await carriers.findLabel({ idempotencyKey: `${orderId}:label` });
    expect(label?.status).toBe('voided');
    expect(voided).toBe(label!.trackingNumber);
    expect(await shipmentRow(orderId)).toMatchObject({ status: 'voided', trackingNumber: label!.trackingNumber });
    // Again: nothing more happens at the carrier.
    expect(await run(shipping.voidLabel, { orderId, shipmentNumber: 1 })).toEqual({ voided: label!.trackingNumber });
  });

  it('abandons a chosen label that was never bought, and a late purchase attempt buys nothing', async () => {
    const { line, shipping } = unreliableCarriers();
    const orderId = newOrderId();
    // The choice is saved, then the purchase fails before it reaches the carrier.
    line.failNextPurchase = true;
    await expect(run(shipping.buyLabel, labelRequest(orderId))).rejects.toThrow(/unavailable/);
    expect(await shipmentRow(orderId)).toMatchObject({
      status: 'label_pending',
      trackingNumber: null,
      labelCost: null,
    });
    expect(await run(shipping.voidLabel, { orderId, shipmentNumber: 1 })).toEqual({ voided: null });
    expect((await shipmentRow(orderId))?.status).toBe('label_abandoned');
    const late = await run(shipping.buyLabel, labelRequest(orderId)).catch((e) => e);
    expect(late).toMatchObject({ type: 'LabelAbandoned', nonRetryable: true });
    expect(await labelsSoldUnder(`${orderId}:label`)).toHaveLength(0);
  });

  it('abandons a shipment cancelled before its purchase began, so an attempt still running on a slow worker buys nothing', async () => {
    const { shipping } = unreliableCarriers();
    const orderId = newOrderId();
    // The undo runs first: no choice saved, nothing sold.
    expect(await run(shipping.voidLabel, { orderId, shipmentNumber: 1 })).toEqual({ voided: null });
    expect(await shipmentRow(orderId)).toMatchObject({ status: 'label_abandoned', trackingNumber: null });
    // The timed-out attempt the workflow stopped waiting for gets to the database after it.
    const late = await run(shipping.buyLabel, labelRequest(orderId)).catch((e) => e);
    expect(late).toMatchObject({ type: 'LabelAbandoned', nonRetryable: true });
    expect(await labelsSoldUnder(`${orderId}:label`)).toHaveLength(0);
    expect(await run(shipping.voidLabel, { orderId, shipmentNumber: 1 })).toEqual({ voided: null });
  });

  it('leaves a label the carrier already has alone: the carrier refuses to void it', async () => {
    const { carriers, shipping } = unreliableCarriers();
    const orderId = newOrderId();
    const shipment = await run(shipping.buyLabel, labelRequest(orderId));
    await run(shipping.handOverToCarrier, {
      carrier: shipment.carrier,
      service: shipment.service,
      trackingNumber: shipment.trackingNumber,
    });
    await expect(
      carriers.voidLabel({
        idempotencyKey: `${orderId}:someone-else`,
        carrier: shipment.carrier,
        trackingNumber: shipment.trackingNumber,
      }),
    ).rejects.toThrow(/handed over/);
    // The shipment row still says label_created (the read model had not caught up): the undo asks, the carrier refuses.
    expect(await run(shipping.voidLabel, { orderId, shipmentNumber: 1 })).toEqual({ voided: null });
    expect((await carriers.findLabel({ idempotencyKey: `${orderId}:label` }))?.status).toBe('handed_over');
  });
});

describe('idempotency keys of carrier and warehouse requests', () => {
  it('hands over, traces and voids under keys from the order and the step, and the carrier acts once per key', async () => {
    const { line, shipping } = unreliableCarriers();
    const orderId = newOrderId();
    const reship = await run(shipping.buyLabel, labelRequest(orderId, 2));
    const parcel = { carrier: reship.carrier, service: reship.service, trackingNumber: reship.trackingNumber };
    await run(shipping.handOverToCarrier, parcel);
    await run(shipping.handOverToCarrier, parcel);
    const first = await run(shipping.openCarrierTrace, { ...parcel, reason: 'late' });
    const again = await run(shipping.openCarrierTrace, { ...parcel, reason: 'late' });
    expect(again).toEqual(first);
    const keys = line.calls
      .filter((call) => call.method !== 'buyLabel')
      .map((call) => [call.method, (call.request as { idempotencyKey?: string }).idempotencyKey]);
    expect(keys).toEqual([
      ['handOver', `${orderId}:hand-over:2`],
      ['handOver', `${orderId}:hand-over:2`],
      ['openTrace', `${orderId}:trace:2`],
      ['openTrace', `${orderId}:trace:2`],
    ]);
    const answered = await db
      .select()
      .from(simulatorRequests)
      .where(eq(simulatorRequests.party, `carrier:${reship.carrier}`));
    expect(
      answered
        .filter((row) => row.idempotencyKey.includes(orderId))
        .map((row) => row.idempotencyKey)
        .sort(),
    ).toEqual([`hand-over:${orderId}:hand-over:2`, `trace:${orderId}:trace:2`]);

    const other = newOrderId();
    await run(shipping.buyLabel, labelRequest(other));
    await run(shipping.voidLabel, { orderId: other, shipmentNumber: 1 });
    expect(
      line.calls
        .filter((call) => call.method === 'voidLabel')
        .map((call) => (call.request as { idempotencyKey?: string }).idempotencyKey),
    ).toEqual([`${other}:void-label`]);
  });

  it('withdraws a warehouse task under a key from the task, once', async () => {
    const warehouse = createSimulatedWarehouse({ db, delayScale: 0 });
    const asked: object[] = [];
    const port: WarehouseSystem = {
      ...warehouse,
      cancelTask: (task) => (asked.push(task), warehouse.cancelTask(task)),
    };
    const activities = createWarehouseActivities({ db, warehouse: port } as ActivityDependencies);
    const taskId = `${newOrderId()}-pick-1`;
    await run(activities.cancelWarehouseTask, { taskId });
    await run(activities.cancelWarehouseTask, { taskId });
    expect(asked).toEqual([
      { idempotencyKey: `${taskId}:cancel`, taskId },
      { idempotencyKey: `${taskId}:cancel`, taskId },
    ]);
    const answered = await db
      .select()
      .from(simulatorRequests)
      .where(eq(simulatorRequests.idempotencyKey, `${taskId}:cancel`));
    expect(answered).toHaveLength(1);
  });
});
