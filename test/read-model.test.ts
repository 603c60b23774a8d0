import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReadModelActivities } from '../activities/read-model.js';
import type { ActivityDependencies } from '../activities/deps.js';
import { orderView } from '../api/orders/read-model.js';
import type { Database } from '../db/client.js';
import { orders } from '../db/schema.js';
import { initialOrderView, type OrderView } from '../domain/order.js';
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
});
