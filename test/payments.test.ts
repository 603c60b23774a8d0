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
  const gateway = createSimulatedPaymentGateway({ db, delayScale: 0 });
  const calls: string[] = [];
  const counted: PaymentGateway = {
    authorize: (r) => (calls.push(`authorize:${r.idempotencyKey}`), gateway.authorize(r)),
    capture: (r) => (calls.push(`capture:${r.idempotencyKey}`), gateway.capture(r)),
    void: (r) => (calls.push(`void:${r.idempotencyKey}`), gateway.void(r)),
    refund: (r) => (calls.push(`refund:${r.idempotencyKey}`), gateway.refund(r)),
    lookup: (r) => (calls.push(`lookup:${r.idempotencyKey}`), gateway.lookup(r)),
  };
  return { gateway, calls, activities: createPaymentActivities({ db, payments: counted } as ActivityDependencies) };
}

/**
 * An order authorized through the activities, then captured at the gateway by an attempt that died
 * before its ledger write: the gateway has the money, the ledger does not know.
 */
async function capturedButNotRecorded(amount = 4200) {
  const parties = countingGateway();
  const orderId = newOrderId();
  const { reference } = await run(parties.activities.authorizePayment, {
    orderId,
    token: 'tok_visa',
    amount,
    currency: 'USD',
  });
  await parties.gateway.capture({
    idempotencyKey: `${orderId}:capture`,
    authorization: reference,
    amount,
    currency: 'USD',
  });
  return { ...parties, orderId, authorization: reference };
}

async function ledger(orderId: string) {
  return (await db.select().from(payments).where(eq(payments.orderId, orderId)).orderBy(payments.id)).map((row) => [
    row.kind,
    row.amount,
  ]);
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
    const failure = await run(activities.authorizePayment, {
      orderId,
      token: 'tok_decline',
      amount: 1000,
      currency: 'USD',
    }).catch((e) => e);
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

  it('refunds a capture the ledger missed when the order is cancelled, and voids nothing', async () => {
    const { activities, orderId } = await capturedButNotRecorded(4200);
    // The undos in the workflow's order: refund the capture, then void the authorization.
    expect(await run(activities.refundPayment, { orderId, reason: 'cancel' })).toEqual({ refunded: 4200 });
    expect((await run(activities.voidPayment, { orderId })).voided).toBe(0);
    expect(await run(activities.refundPayment, { orderId, reason: 'cancel' })).toEqual({ refunded: 4200 });
    expect(await ledger(orderId)).toEqual([
      ['authorize', 4200],
      ['capture', 4200],
      ['refund', 4200],
    ]);
  });

  it('never voids a captured authorization: the void undo records the capture it learns of and leaves the money to the refund undo', async () => {
    const { activities, orderId } = await capturedButNotRecorded(1500);
    expect(await run(activities.voidPayment, { orderId })).toEqual({ voided: 0 });
    expect(await ledger(orderId)).toEqual([
      ['authorize', 1500],
      ['capture', 1500],
    ]);
    expect(await run(activities.refundPayment, { orderId, reason: 'cancel' })).toEqual({ refunded: 1500 });
    // Asked again, the same refund: not a second one.
    expect(await run(activities.refundPayment, { orderId, reason: 'cancel' })).toEqual({ refunded: 1500 });
    expect(await ledger(orderId)).toEqual([
      ['authorize', 1500],
      ['capture', 1500],
      ['refund', 1500],
    ]);
  });

  it('voids an authorization the ledger missed', async () => {
    const { gateway, activities } = countingGateway();
    const orderId = newOrderId();
    await gateway.authorize({
      idempotencyKey: `${orderId}:authorize`,
      token: 'tok_visa',
      amount: 900,
      currency: 'USD',
    });
    expect(await run(activities.voidPayment, { orderId })).toEqual({ voided: 900 });
    expect(await ledger(orderId)).toEqual([
      ['authorize', 900],
      ['void', 900],
    ]);
  });

  it('is refused by the gateway when it captures a voided authorization, voids a captured one, or refunds more than the capture', async () => {
    const { gateway, activities } = countingGateway();
    const voided = newOrderId();
    await run(activities.authorizePayment, { orderId: voided, token: 'tok_visa', amount: 700, currency: 'USD' });
    await run(activities.voidPayment, { orderId: voided });
    const capture = await run(activities.capturePayment, { orderId: voided, amount: 700, currency: 'USD' }).catch(
      (e) => e,
    );
    expect(capture).toMatchObject({
      type: 'RefusedByParty',
      nonRetryable: true,
      message: expect.stringMatching(/voided/),
    });

    const captured = newOrderId();
    const { reference } = await run(activities.authorizePayment, {
      orderId: captured,
      token: 'tok_visa',
      amount: 700,
      currency: 'USD',
    });
    const { reference: capturedRef } = await run(activities.capturePayment, {
      orderId: captured,
      amount: 700,
      currency: 'USD',
    });
    await expect(gateway.void({ idempotencyKey: `${captured}:void`, authorization: reference })).rejects.toThrow(
      /captured; it cannot be voided/,
    );
    await gateway.refund({
      idempotencyKey: `${captured}:refund:a`,
      capture: capturedRef,
      amount: 500,
      currency: 'USD',
    });
    await expect(
      gateway.refund({ idempotencyKey: `${captured}:refund:b`, capture: capturedRef, amount: 201, currency: 'USD' }),
    ).rejects.toThrow(/only 200/);
    // The same key again is the first answer, not a second refund.
    await gateway.refund({
      idempotencyKey: `${captured}:refund:a`,
      capture: capturedRef,
      amount: 500,
      currency: 'USD',
    });
    expect(await gateway.lookup({ idempotencyKey: `${captured}:refund:a` })).toMatchObject({ amount: 500 });
    expect(await gateway.lookup({ idempotencyKey: `${captured}:refund:b` })).toBeNull();
  });

  it('refuses to capture an order that was never authorized', async () => {
    const { activities } = countingGateway();
    const failure = await run(activities.capturePayment, { orderId: newOrderId(), amount: 100, currency: 'USD' }).catch(
      (e) => e,
    );
    expect(failure).toMatchObject({ type: 'NoAuthorization', nonRetryable: true });
  });
});
