import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReadModelActivities } from '../activities/read-model.js';
import type { ActivityDependencies } from '../activities/deps.js';
import { orderView } from '../api/orders/read-model.js';
import type { Database } from '../db/client.js';
import { orders, shipments } from '../db/schema.js';
import { initialOrderView, type OrderShipment, type OrderView } from '../domain/order.js';
import { orderRequest, workflowInput } from './support/orders.js';
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

function advanced(view: OrderView, status: OrderView['status'], type: string): OrderView {
  const seq = view.timeline.length;
  return {
    ...view,
    status,
    timeline: [
      ...view.timeline,
      { seq, at: new Date(Date.parse(view.receivedAt) + seq * 1000).toISOString(), type, status },
    ],
  };
}

describe('recordOrderUpdate', () => {
  it('keeps the newest snapshot and every timeline event once, whatever order retries arrive in', async () => {
    const { recordOrderUpdate } = createReadModelActivities({ db } as ActivityDependencies);
    const order = workflowInput(orderRequest(), new Date().toISOString());
    const received = initialOrderView(order);
    const confirmed = advanced(received, 'confirmed', 'order_confirmed');
    const processing = advanced(confirmed, 'processing', 'payment_captured');

    await run(recordOrderUpdate, { order, view: received });
    await run(recordOrderUpdate, { order, view: processing });
    // A retry of an older write lands late: it must not move the order back.
    await run(recordOrderUpdate, { order, view: confirmed });
    await run(recordOrderUpdate, { order, view: processing });

    const [row] = await db.select().from(orders).where(eq(orders.orderId, order.request.orderId));
    expect(row).toMatchObject({ status: 'processing', version: 2, requestHash: order.requestHash });
    const view = await orderView(db, order.request.orderId);
    expect(view?.status).toBe('processing');
    expect(view?.timeline.map((event) => event.type)).toEqual([
      'order_received',
      'order_confirmed',
      'payment_captured',
    ]);
  });

  it("moves a label's row only forward: a late snapshot never undoes a void or a scan (the chaos suite found a voided label back at label_created)", async () => {
    const { recordOrderUpdate } = createReadModelActivities({ db } as ActivityDependencies);
    const order = workflowInput(orderRequest(), new Date().toISOString());
    const { orderId } = order.request;
    const label = (n: number, status: string) => ({
      id: `${orderId}-${n}`,
      orderId,
      carrier: 'simpost',
      service: 'ground',
      trackingNumber: `TRK-${orderId}-${n}`,
      status,
      box: 'S',
      weightGrams: 500,
      labelCost: 700,
      currency: 'USD',
      promisedBy: new Date(),
    });
    await db.insert(shipments).values([label(1, 'voided'), label(2, 'in_transit'), label(3, 'label_created')]);
    const parcel = (n: number, status: OrderShipment['status']): OrderShipment => ({
      shipmentId: `${orderId}-${n}`,
      warehouseId: 'wh-east',
      items: [],
      status,
      carrier: 'simpost',
      service: 'ground',
      trackingNumber: `TRK-${orderId}-${n}`,
      promisedBy: null,
      waveId: null,
      priority: null,
      timeline: [],
    });
    // The order applies a shipment's earlier report (label bought) after the shipment voided it, a
    // late snapshot of a parcel already in transit, and a scan that moves the third forward.
    const view = {
      ...advanced(initialOrderView(order), 'processing', 'payment_captured'),
      shipments: [parcel(1, 'label_created'), parcel(2, 'shipped'), parcel(3, 'in_transit')],
    };
    await run(recordOrderUpdate, { order, view });

    const rows = await db.select().from(shipments).where(eq(shipments.orderId, orderId));
    expect(Object.fromEntries(rows.map((row) => [row.id, row.status]))).toEqual({
      [`${orderId}-1`]: 'voided',
      [`${orderId}-2`]: 'in_transit',
      [`${orderId}-3`]: 'in_transit',
    });
  });
});
