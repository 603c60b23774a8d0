import { ApplicationFailure } from '@temporalio/common';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPaymentActivities } from '../activities/payments.js';
import type { ActivityDependencies } from '../activities/deps.js';
import type { PaymentGateway } from '../activities/ports.js';
import type { Database } from '../db/client.js';
import { payments } from '../db/schema.js';
import { createSimulatedPaymentGateway } from '../simulators/payment-gateway.js';
import { newOrderId } from './support/orders.js';
import { activityRunner } from './support/activity-env.js';
import { testDatabase } from './support/database.js';

let db: Database;
const run = activityRunner();

/** The simulated gateway, counting the calls that reach it. */
function countingGateway() {
  const gateway = createSimulatedPaymentGateway({ delayScale: 0 });
  const calls: string[] = [];
  const counted: PaymentGateway = {
    authorize: (r) => (calls.push(`authorize:${r.idempotencyKey}`), gateway.authorize(r)),
    capture: (r) => (calls.push(`capture:${r.idempotencyKey}`), gateway.capture(r)),
    void: (r) => (calls.push(`void:${r.idempotencyKey}`), gateway.void(r)),
    refund: (r) => (calls.push(`refund:${r.idempotencyKey}`), gateway.refund(r)),
  };
  return { calls, activities: createPaymentActivities({ db, payments: counted } as ActivityDependencies) };
}

async function ledger(orderId: string) {
  return (await db.select().from(payments).where(eq(payments.orderId, orderId)).orderBy(payments.id)).map((row) => [row.kind, row.amount]);
}

beforeAll(async () => {
  db = await testDatabase();
});

afterAll(async () => {
  await db.close();
});

describe('payment activities', () => {
  it('authorizes and captures once each, however often they are retried', async () => {
    const { activities, calls } = countingGateway();
    const orderId = newOrderId();
    const authorization = { orderId, token: 'tok_visa', amount: 7099, currency: 'USD' };
    const first = await run(activities.authorizePayment, authorization);
    const again = await run(activities.authorizePayment, authorization);
    expect(again.reference).toBe(first.reference);
    await Promise.all([
      run(activities.capturePayment, { orderId, amount: 7099, currency: 'USD' }),
      run(activities.capturePayment, { orderId, amount: 7099, currency: 'USD' }),
    ]);
    expect(await ledger(orderId)).toEqual([
      ['authorize', 7099],
      ['capture', 7099],
    ]);
    // The retried authorization never reached the gateway; the idempotency key reaches it on every call that does.
    expect(calls.filter((c) => c.startsWith('authorize'))).toEqual([`authorize:${orderId}:authorize`]);
  });

  it('turns a decline into a non-retryable PaymentDeclined failure and records nothing', async () => {
    const { activities } = countingGateway();
    const orderId = newOrderId();
    const failure = await run(activities.authorizePayment, { orderId, token: 'tok_decline', amount: 1000, currency: 'USD' }).catch((e) => e);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'PaymentDeclined', nonRetryable: true });
    expect(await ledger(orderId)).toEqual([]);
  });

  it('lets a transient gateway error retry, then authorizes once', async () => {
    const { activities } = countingGateway();
    const orderId = newOrderId();
    const input = { orderId, token: 'tok_error', amount: 2500, currency: 'USD' };
    await expect(run(activities.authorizePayment, input)).rejects.toThrow(/transient/);
    await expect(run(activities.authorizePayment, input)).rejects.toThrow(/transient/);
    await run(activities.authorizePayment, input);
    expect(await ledger(orderId)).toEqual([['authorize', 2500]]);
  });

  it('refuses to capture an order that was never authorized', async () => {
    const { activities } = countingGateway();
    const failure = await run(activities.capturePayment, { orderId: newOrderId(), amount: 100, currency: 'USD' }).catch((e) => e);
    expect(failure).toMatchObject({ type: 'NoAuthorization', nonRetryable: true });
  });
});
