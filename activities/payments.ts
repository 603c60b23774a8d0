import { ApplicationFailure } from '@temporalio/activity';
import { eq } from 'drizzle-orm';
import { FailureType } from '../domain/failures.js';
import { effectKey } from '../domain/ids.js';
import { payments } from '../db/schema.js';
import type { ActivityDependencies } from './deps.js';
import { countBusinessEvent } from './metrics.js';
import { PaymentDeclinedError, RequestRefusedError } from './ports.js';

type LedgerKind = 'authorize' | 'capture' | 'void' | 'refund';

/** The capture's step: `capture` for the old shape's one capture, `capture:<n>` for shipment n's. */
function captureStep(shipment?: number): string {
  return shipment === undefined ? 'capture' : `capture:${shipment}`;
}

/** A refusal is the gateway's last word: retrying cannot change it. */
async function refusalsFinal<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof RequestRefusedError)
      throw ApplicationFailure.nonRetryable(error.message, FailureType.RefusedByParty);
    throw error;
  }
}

/**
 * Money effects. Each one: look up its idempotency key in the ledger (done already: answer the
 * same), else ask the gateway with that key (a gateway answers a repeated key with the first
 * answer) and record the result under the key. Retries therefore never charge twice.
 *
 * An attempt can die after the gateway acted and before the ledger write, and a cancelled workflow
 * does not retry its forward step. So the undos (void, refund) first ask the gateway what the
 * forward step's key did and record what it says in the ledger under that key, then undo that.
 *
 * They do not heartbeat: each is one short gateway call between two ledger writes, and a cancel
 * delivered in between would only make its outcome unknown. A cancelled step lets its activity
 * finish (WAIT_CANCELLATION_COMPLETED), then the undos run on what it did.
 */
export function createPaymentActivities({ db, payments: gateway }: ActivityDependencies) {
  async function recorded(idempotencyKey: string) {
    const [row] = await db.select().from(payments).where(eq(payments.idempotencyKey, idempotencyKey));
    return row ?? null;
  }

  async function record(entry: {
    idempotencyKey: string;
    orderId: string;
    kind: LedgerKind;
    amount: number;
    currency: string;
    gatewayReference: string;
  }) {
    await db.insert(payments).values(entry).onConflictDoNothing();
    return (await recorded(entry.idempotencyKey))!;
  }

  /**
   * The ledger row of an order's step, learned from the gateway when the ledger missed it (the
   * attempt that asked died before writing it down); null when the gateway did nothing under its key.
   */
  async function reconciled(orderId: string, kind: 'authorize' | 'capture', step: string = kind) {
    const idempotencyKey = effectKey(orderId, step);
    const done = await recorded(idempotencyKey);
    if (done) return done;
    const found = await gateway.lookup({ idempotencyKey });
    if (!found) return null;
    return record({
      idempotencyKey,
      orderId,
      kind,
      amount: found.amount,
      currency: found.currency,
      gatewayReference: found.reference,
    });
  }

  /**
   * Pays back up to `amount` (default: all) of the capture not yet refunded, under `refund:<reason>`.
   * Nothing captured, or nothing left: 0.
   */
  /** The shipment numbers an order captured for (`capture:<n>` in the ledger); none for the old shape. */
  async function capturedShipments(orderId: string): Promise<number[]> {
    const ledger = await db.select().from(payments).where(eq(payments.orderId, orderId));
    return ledger
      .filter((row) => row.kind === 'capture')
      .map((row) => /^capture:(\d+)$/.exec(row.idempotencyKey.slice(orderId.length + 1))?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  async function refund(orderId: string, reason: string, requested?: number, shipment?: number): Promise<number> {
    // A whole order's refund of shipments' captures (the reconciler's): each shipment's capture in turn.
    if (shipment === undefined) {
      const shipments = await capturedShipments(orderId);
      if (shipments.length > 0) {
        let refunded = 0;
        for (const n of shipments) {
          const left = requested === undefined ? undefined : requested - refunded;
          if (left !== undefined && left <= 0) break;
          refunded += await refund(orderId, reason, left, n);
        }
        return refunded;
      }
    }
    const idempotencyKey = effectKey(orderId, `refund:${reason}${shipment === undefined ? '' : `@${shipment}`}`);
    const done = await recorded(idempotencyKey);
    if (done) return done.amount;
    const capture = await reconciled(orderId, 'capture', captureStep(shipment));
    if (!capture) return 0;
    const ledger = await db.select().from(payments).where(eq(payments.orderId, orderId));
    // A shipment's capture is refunded only by refunds keyed to it (`…@<n>`).
    const refundedSoFar = ledger
      .filter((row) => row.kind === 'refund' && (shipment === undefined || row.idempotencyKey.endsWith(`@${shipment}`)))
      .reduce((sum, row) => sum + row.amount, 0);
    const amount = Math.min(requested ?? capture.amount, capture.amount - refundedSoFar);
    if (amount <= 0) return 0;
    const { reference } = await refusalsFinal(() =>
      gateway.refund({ idempotencyKey, capture: capture.gatewayReference, amount, currency: capture.currency }),
    );
    await record({
      idempotencyKey,
      orderId,
      kind: 'refund',
      amount,
      currency: capture.currency,
      gatewayReference: reference,
    });
    countBusinessEvent('order_refunds');
    return amount;
  }

  async function authorizationOf(orderId: string) {
    const authorization = await recorded(effectKey(orderId, 'authorize'));
    if (!authorization)
      throw ApplicationFailure.nonRetryable(`order ${orderId} has no authorization`, FailureType.NoAuthorization);
    return authorization;
  }

  return {
    async authorizePayment(input: {
      orderId: string;
      token: string;
      amount: number;
      currency: string;
    }): Promise<{ reference: string }> {
      const idempotencyKey = effectKey(input.orderId, 'authorize');
      const done = await recorded(idempotencyKey);
      if (done) return { reference: done.gatewayReference };
      try {
        const { reference } = await gateway.authorize({
          idempotencyKey,
          token: input.token,
          amount: input.amount,
          currency: input.currency,
        });
        await record({
          idempotencyKey,
          orderId: input.orderId,
          kind: 'authorize',
          amount: input.amount,
          currency: input.currency,
          gatewayReference: reference,
        });
        return { reference };
      } catch (error) {
        if (error instanceof PaymentDeclinedError)
          throw ApplicationFailure.nonRetryable(error.message, FailureType.PaymentDeclined);
        throw error;
      }
    },

    /**
     * Captures `amount` of the authorization: the whole order (old shape), or one shipment's share
     * under `capture:<n>` (an authorization is then captured once per shipment, never past its amount).
     */
    async capturePayment(input: {
      orderId: string;
      amount: number;
      currency: string;
      shipment?: number;
    }): Promise<{ reference: string }> {
      const idempotencyKey = effectKey(input.orderId, captureStep(input.shipment));
      const done = await recorded(idempotencyKey);
      if (done) return { reference: done.gatewayReference };
      const authorization = await authorizationOf(input.orderId);
      const { reference } = await refusalsFinal(() =>
        gateway.capture({
          idempotencyKey,
          authorization: authorization.gatewayReference,
          amount: input.amount,
          currency: input.currency,
        }),
      );
      await record({
        idempotencyKey,
        orderId: input.orderId,
        kind: 'capture',
        amount: input.amount,
        currency: input.currency,
        gatewayReference: reference,
      });
      countBusinessEvent('order_captures');
      return { reference };
    },

    /**
     * Releases the hold on the card. First learns from the gateway what the authorize and capture
     * steps did (their answers may never have reached the ledger). Nothing authorized, or already
     * voided: a no-op. Captured: a no-op too (a captured authorization cannot be voided; the money
     * comes back by the refund undo, registered before every capture, or not at all where the
     * goods have left). Only a capture that lands after we looked, so the gateway refuses the void,
     * is refunded here, under the cancel refund's key (`refunded`; with the refund undo, one effect).
     */
    async voidPayment(input: { orderId: string }): Promise<{ voided: number; refunded?: number }> {
      const authorization = await reconciled(input.orderId, 'authorize');
      if (!authorization) return { voided: 0 };
      // An order captured per shipment (the reconciler's void): what the shipments did not capture.
      const shipments = await capturedShipments(input.orderId);
      if (shipments.length > 0) return voidUncaptured({ orderId: input.orderId, shipments });
      const idempotencyKey = effectKey(input.orderId, 'void');
      const done = await recorded(idempotencyKey);
      if (done) return { voided: done.amount };
      if (await reconciled(input.orderId, 'capture')) return { voided: 0 };
      try {
        const { reference } = await gateway.void({ idempotencyKey, authorization: authorization.gatewayReference });
        await record({
          idempotencyKey,
          orderId: input.orderId,
          kind: 'void',
          amount: authorization.amount,
          currency: authorization.currency,
          gatewayReference: reference,
        });
        return { voided: authorization.amount };
      } catch (error) {
        // A capture still in flight landed after we looked: refund it instead.
        if (error instanceof RequestRefusedError && (await reconciled(input.orderId, 'capture')))
          return { voided: 0, refunded: await refund(input.orderId, 'cancel') };
        if (error instanceof RequestRefusedError)
          throw ApplicationFailure.nonRetryable(error.message, FailureType.RefusedByParty);
        throw error;
      }
    },

    /**
     * Pays back up to `amount` of what was captured, under its own key (`refund:<reason>`), never
     * more than was captured and not yet refunded. A no-op when nothing was captured. The capture
     * is learned from the gateway when the ledger missed it (a cancel that stopped the capture
     * step after the gateway captured).
     */
    async refundPayment(input: {
      orderId: string;
      reason: string;
      amount?: number;
      /** Refund from this shipment's capture (key `refund:<reason>@<n>`); orders of the old shape: none. */
      shipment?: number;
    }): Promise<{ refunded: number }> {
      return { refunded: await refund(input.orderId, input.reason, input.amount, input.shipment) };
    },

    voidUncaptured,
  };

  /**
   * Releases what the shipments did not capture: the authorization less the captures of
   * `shipments` (each learned from the gateway if the ledger missed it), under the key `void`.
   * Everything captured: nothing to void. Voiding again answers the first void.
   */
  async function voidUncaptured(input: { orderId: string; shipments: number[] }): Promise<{ voided: number }> {
    const authorization = await reconciled(input.orderId, 'authorize');
    if (!authorization) return { voided: 0 };
    const idempotencyKey = effectKey(input.orderId, 'void');
    const done = await recorded(idempotencyKey);
    if (done) return { voided: done.amount };
    let captured = 0;
    for (const shipment of input.shipments)
      captured += (await reconciled(input.orderId, 'capture', captureStep(shipment)))?.amount ?? 0;
    const left = authorization.amount - captured;
    if (left <= 0) return { voided: 0 };
    const { reference } = await refusalsFinal(() =>
      gateway.void({ idempotencyKey, authorization: authorization.gatewayReference }),
    );
    await record({
      idempotencyKey,
      orderId: input.orderId,
      kind: 'void',
      amount: left,
      currency: authorization.currency,
      gatewayReference: reference,
    });
    return { voided: left };
  }
}
