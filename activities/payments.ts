import { ApplicationFailure } from '@temporalio/activity';
import { eq } from 'drizzle-orm';
import { FailureType } from '../domain/errors.js';
import { effectKey } from '../domain/ids.js';
import { payments } from '../db/schema.js';
import type { ActivityDependencies } from './deps.js';
import { PaymentDeclinedError } from './ports.js';

type LedgerKind = 'authorize' | 'capture' | 'void' | 'refund';

/**
 * Money effects. Each one: look up its idempotency key in the ledger (done already: answer the
 * same), else ask the gateway with that key (a gateway answers a repeated key with the first
 * answer) and record the result under the key. Retries therefore never charge twice.
 */
export function createPaymentActivities({ db, payments: gateway }: ActivityDependencies) {
  async function recorded(idempotencyKey: string) {
    const [row] = await db.select().from(payments).where(eq(payments.idempotencyKey, idempotencyKey));
    return row ?? null;
  }

  async function record(entry: { idempotencyKey: string; orderId: string; kind: LedgerKind; amount: number; currency: string; gatewayReference: string }) {
    await db.insert(payments).values(entry).onConflictDoNothing();
    return (await recorded(entry.idempotencyKey))!;
  }

  async function authorizationOf(orderId: string) {
    const authorization = await recorded(effectKey(orderId, 'authorize'));
    if (!authorization) throw ApplicationFailure.nonRetryable(`order ${orderId} has no authorization`, 'NoAuthorization');
    return authorization;
  }

  return {
    async authorizePayment(input: { orderId: string; token: string; amount: number; currency: string }): Promise<{ reference: string }> {
      const idempotencyKey = effectKey(input.orderId, 'authorize');
      const done = await recorded(idempotencyKey);
      if (done) return { reference: done.gatewayReference };
      try {
        const { reference } = await gateway.authorize({ idempotencyKey, token: input.token, amount: input.amount, currency: input.currency });
        await record({ idempotencyKey, orderId: input.orderId, kind: 'authorize', amount: input.amount, currency: input.currency, gatewayReference: reference });
        return { reference };
      } catch (error) {
        if (error instanceof PaymentDeclinedError) throw ApplicationFailure.nonRetryable(error.message, FailureType.PaymentDeclined);
        throw error;
      }
    },

    async capturePayment(input: { orderId: string; amount: number; currency: string }): Promise<{ reference: string }> {
      const idempotencyKey = effectKey(input.orderId, 'capture');
      const done = await recorded(idempotencyKey);
      if (done) return { reference: done.gatewayReference };
      const authorization = await authorizationOf(input.orderId);
      const { reference } = await gateway.capture({
        idempotencyKey,
        authorization: authorization.gatewayReference,
        amount: input.amount,
        currency: input.currency,
      });
      await record({ idempotencyKey, orderId: input.orderId, kind: 'capture', amount: input.amount, currency: input.currency, gatewayReference: reference });
      return { reference };
    },

    /**
     * Releases the hold on the card. A no-op when nothing was authorized, or the authorization was
     * captured (then the money comes back by refund) or already voided.
     */
    async voidPayment(input: { orderId: string }): Promise<{ voided: number }> {
      const authorization = await recorded(effectKey(input.orderId, 'authorize'));
      if (!authorization) return { voided: 0 };
      if (await recorded(effectKey(input.orderId, 'capture'))) return { voided: 0 };
      const idempotencyKey = effectKey(input.orderId, 'void');
      const done = await recorded(idempotencyKey);
      if (done) return { voided: done.amount };
      const { reference } = await gateway.void({ idempotencyKey, authorization: authorization.gatewayReference });
      await record({ idempotencyKey, orderId: input.orderId, kind: 'void', amount: authorization.amount, currency: authorization.currency, gatewayReference: reference });
      return { voided: authorization.amount };
    },

    /**
     * Pays back up to `amount` of what was captured, under its own key (`refund:<reason>`), never
     * more than was captured and not yet refunded. A no-op when nothing was captured.
     */
    async refundPayment(input: { orderId: string; reason: string; amount?: number }): Promise<{ refunded: number }> {
      const idempotencyKey = effectKey(input.orderId, `refund:${input.reason}`);
      const done = await recorded(idempotencyKey);
      if (done) return { refunded: done.amount };
      const capture = await recorded(effectKey(input.orderId, 'capture'));
      if (!capture) return { refunded: 0 };
      const ledger = await db.select().from(payments).where(eq(payments.orderId, input.orderId));
      const refundedSoFar = ledger.filter((row) => row.kind === 'refund').reduce((sum, row) => sum + row.amount, 0);
      const amount = Math.min(input.amount ?? capture.amount, capture.amount - refundedSoFar);
      if (amount <= 0) return { refunded: 0 };
      const { reference } = await gateway.refund({ idempotencyKey, capture: capture.gatewayReference, amount, currency: capture.currency });
      await record({ idempotencyKey, orderId: input.orderId, kind: 'refund', amount, currency: capture.currency, gatewayReference: reference });
      return { refunded: amount };
    },
  };
}
