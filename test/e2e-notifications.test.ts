import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderPolicy } from '../domain/order.js';
import { isolatedProduct } from './support/database.js';
import { orderRequest, PRODUCTION_POLICY } from './support/orders.js';
import { startSystem, type System } from './support/system.js';

/**
 * A mail provider outage on the whole system: orders keep moving and cancels are answered while
 * the simulated notifier refuses every message; once it is back, each customer hears of each
 * milestone exactly once.
 */
let system: System;

const policy: OrderPolicy = {
  ...PRODUCTION_POLICY,
  cancellationBuffer: '1s',
  returnWindow: '2s',
  warehouseTaskSla: '1m',
};

beforeAll(async () => {
  system = await startSystem({ policy });
});

afterAll(async () => {
  system?.notifier.setDown(false);
  await system?.stop();
});

const kinds = (list: { kind: string }[] | undefined) => (list ?? []).map((n) => n.kind.split(':')[0]).sort();

/** The order view once nothing waits in its outbox. */
async function allSent(orderId: string) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { body } = await system.api('GET', `/orders/${orderId}`);
    if (body.pendingNotifications?.length === 0 || Date.now() > deadline) return body;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('notifications end to end', () => {
  it('moves orders and answers cancels while the notifier is down, then tells each customer once', async () => {
    const { api } = system;
    system.notifier.setDown(true);
    const sku = await isolatedProduct(system.db, { 'wh-east': 10 }, 1500);
    const shipped = orderRequest({ items: [{ sku, quantity: 1 }] });
    const cancelled = orderRequest({ items: [{ sku, quantity: 1 }] });
    expect((await api('POST', '/orders', shipped)).status).toBe(202);
    expect((await api('POST', '/orders', cancelled)).status).toBe(202);

    const cancel = await api('POST', `/orders/${cancelled.orderId}/cancel`, { reason: 'changed my mind' });
    expect(cancel.status).toBe(200);
    expect(cancel.body.status).toBe('cancelled');
    await system.waitForOrder(shipped.orderId, (status) => status === 'completed', 40_000);

    // Nothing reached either customer; the notices wait in the outbox, and the order view says so.
    const mine = (key: string) => key.startsWith(`${shipped.orderId}:`) || key.startsWith(`${cancelled.orderId}:`);
    expect(system.notices.filter(mine)).toEqual([]);
    const waiting = (await api('GET', `/orders/${shipped.orderId}`)).body;
    expect(waiting.notifications).toEqual([]);
    expect(kinds(waiting.pendingNotifications)).toEqual(
      expect.arrayContaining(['confirmation', 'delivered', 'shipped']),
    );
    const confirmation = waiting.pendingNotifications.find((n: { kind: string }) => n.kind === 'confirmation');
    expect(confirmation.attempts).toBeGreaterThanOrEqual(1);
    expect(confirmation.lastError).toMatch(/outage/);

    system.notifier.setDown(false);
    const told = await allSent(shipped.orderId);
    expect(kinds(told.notifications)).toEqual(expect.arrayContaining(['confirmation', 'delivered', 'shipped']));
    for (const n of told.notifications) expect(Date.parse(n.sentAt)).not.toBeNaN();
    expect(kinds((await allSent(cancelled.orderId)).notifications)).toContain('cancelled');

    // Exactly once per key, whatever the retries during the outage.
    const sent = system.notices.filter(mine);
    expect(sent.length).toBeGreaterThan(0);
    expect(new Set(sent).size).toBe(sent.length);
  });
});
