import { createHash } from 'node:crypto';
import { and, eq, sum } from 'drizzle-orm';
import { PaymentDeclinedError, type PaymentGateway, RequestRefusedError } from '../activities/ports.js';
import type { Database } from '../db/client.js';
import { simulatorPayments } from '../db/schema.js';
import type { Transaction } from '../db/stock.js';
import { underKey } from './books.js';
import { simulatedDelayMs, wait } from './delays.js';

type Kind = 'authorize' | 'capture' | 'void' | 'refund';

/**
 * A card gateway. Test tokens: `tok_visa` approves, `tok_decline` declines, `tok_error` fails
 * transiently on its first `transientFailures` tries per idempotency key, then approves.
 * Like a real gateway it answers a repeated idempotency key with the first answer, keeps its books
 * (in the database: a restarted worker talks to the same gateway) and refuses what contradicts
 * them: a fully captured authorization cannot be voided (a partly captured one voids the rest), a
 * voided one cannot be captured, captures (one per shipment) never exceed the authorization, and
 * refunds never exceed their capture.
 */
export function createSimulatedPaymentGateway(options: {
  db: Database;
  delayScale: number;
  transientFailures?: number;
}): PaymentGateway {
  const { db } = options;
  const failures = new Map<string, number>();
  const transientFailures = options.transientFailures ?? 2;

  /** Performs one effect under its key; `apply` checks the books and says what the effect is. */
  async function once(
    idempotencyKey: string,
    kind: Kind,
    apply: (tx: Transaction) => Promise<{ parent: string | null; amount: number; currency: string }>,
  ): Promise<{ reference: string }> {
    await wait(simulatedDelayMs(300, options.delayScale));
    return underKey(db, `gateway:${idempotencyKey}`, async (tx) => {
      const [known] = await tx
        .select()
        .from(simulatorPayments)
        .where(eq(simulatorPayments.idempotencyKey, idempotencyKey));
      if (known) return { reference: known.reference };
      const effect = await apply(tx);
      const reference = `sim_${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 20)}`;
      await tx.insert(simulatorPayments).values({ idempotencyKey, kind, reference, ...effect });
      return { reference };
    });
  }

  /** The effect behind a reference, locked until the transaction ends: its children are decided one at a time. */
  async function locked(tx: Transaction, reference: string, kind: Kind) {
    const [row] = await tx
      .select()
      .from(simulatorPayments)
      .where(and(eq(simulatorPayments.reference, reference), eq(simulatorPayments.kind, kind)))
      .for('update');
    if (!row) throw new RequestRefusedError(`no ${kind === 'authorize' ? 'authorization' : kind} ${reference}`);
    return row;
  }

  async function childOf(tx: Transaction, parent: string, kind: Kind) {
    const [row] = await tx
      .select()
      .from(simulatorPayments)
      .where(and(eq(simulatorPayments.parent, parent), eq(simulatorPayments.kind, kind)));
    return row ?? null;
  }

  async function childrenSum(tx: Transaction, parent: string, kind: Kind): Promise<number> {
    const [row] = await tx
      .select({ total: sum(simulatorPayments.amount).mapWith(Number) })
      .from(simulatorPayments)
      .where(and(eq(simulatorPayments.parent, parent), eq(simulatorPayments.kind, kind)));
    return row?.total ?? 0;
  }

  return {
    authorize: ({ idempotencyKey, token, amount, currency }) =>
      once(idempotencyKey, 'authorize', async () => {
        if (token === 'tok_decline') throw new PaymentDeclinedError('card declined by issuer');
        if (token === 'tok_error') {
          const failed = failures.get(idempotencyKey) ?? 0;
          if (failed < transientFailures) {
            failures.set(idempotencyKey, failed + 1);
            throw new Error('payment gateway unavailable (simulated transient error), try again');
          }
        } else if (!token.startsWith('tok_visa')) throw new PaymentDeclinedError(`unknown payment token`);
        return { parent: null, amount, currency };
      }),

    capture: ({ idempotencyKey, authorization, amount, currency }) =>
      once(idempotencyKey, 'capture', async (tx) => {
        const held = await locked(tx, authorization, 'authorize');
        if (await childOf(tx, authorization, 'void'))
          throw new RequestRefusedError(`authorization ${authorization} was voided; it cannot be captured`);
        // Several captures may share an authorization (one per shipment), never past what it holds.
        const captured = await childrenSum(tx, authorization, 'capture');
        if (captured > 0 && captured >= held.amount)
          throw new RequestRefusedError(`authorization ${authorization} was already captured`);
        if (amount > held.amount - captured)
          throw new RequestRefusedError(
            `cannot capture ${amount}: authorization ${authorization} holds ${held.amount - captured} more`,
          );
        return { parent: authorization, amount, currency };
      }),

    void: ({ idempotencyKey, authorization }) =>
      once(idempotencyKey, 'void', async (tx) => {
        const held = await locked(tx, authorization, 'authorize');
        // A partly captured authorization voids what is left of it; a fully captured one has nothing left.
        const captured = await childrenSum(tx, authorization, 'capture');
        if (captured >= held.amount) {
          throw new RequestRefusedError(
            `authorization ${authorization} was captured; it cannot be voided (refund the capture)`,
          );
        }
        return { parent: authorization, amount: held.amount - captured, currency: held.currency };
      }),

    refund: ({ idempotencyKey, capture, amount, currency }) =>
      once(idempotencyKey, 'refund', async (tx) => {
        const captured = await locked(tx, capture, 'capture');
        const [refunded] = await tx
          .select({ total: sum(simulatorPayments.amount).mapWith(Number) })
          .from(simulatorPayments)
          .where(and(eq(simulatorPayments.parent, capture), eq(simulatorPayments.kind, 'refund')));
        const left = captured.amount - (refunded?.total ?? 0);
        if (amount > left)
          throw new RequestRefusedError(
            `cannot refund ${amount}: only ${left} of capture ${capture} is left to refund`,
          );
        return { parent: capture, amount, currency };
      }),

    async lookup({ idempotencyKey }) {
      await wait(simulatedDelayMs(100, options.delayScale));
      const [row] = await db
        .select()
        .from(simulatorPayments)
        .where(eq(simulatorPayments.idempotencyKey, idempotencyKey));
      return row ? { reference: row.reference, amount: row.amount, currency: row.currency } : null;
    },
  };
}
