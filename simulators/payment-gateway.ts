import { createHash } from 'node:crypto';
import { PaymentDeclinedError, type PaymentGateway } from '../activities/ports.js';
import { simulatedDelayMs, wait } from './delays.js';

/**
 * A card gateway. Test tokens: `tok_visa` approves, `tok_decline` declines, `tok_error` fails
 * transiently on its first `transientFailures` tries per idempotency key, then approves.
 * Like a real gateway it answers a repeated idempotency key with the first answer.
 */
export function createSimulatedPaymentGateway(options: { delayScale: number; transientFailures?: number }): PaymentGateway {
  const answers = new Map<string, { reference: string }>();
  const failures = new Map<string, number>();
  const transientFailures = options.transientFailures ?? 2;

  async function once(idempotencyKey: string, effect: () => void): Promise<{ reference: string }> {
    await wait(simulatedDelayMs(300, options.delayScale));
    const known = answers.get(idempotencyKey);
    if (known) return known;
    effect();
    const answer = { reference: `sim_${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 20)}` };
    answers.set(idempotencyKey, answer);
    return answer;
  }

  return {
    authorize: ({ idempotencyKey, token }) =>
      once(idempotencyKey, () => {
        if (token === 'tok_decline') throw new PaymentDeclinedError('card declined by issuer');
        if (token === 'tok_error') {
          const failed = failures.get(idempotencyKey) ?? 0;
          if (failed < transientFailures) {
            failures.set(idempotencyKey, failed + 1);
            throw new Error('payment gateway unavailable (simulated transient error), try again');
          }
          return;
        }
        if (!token.startsWith('tok_visa')) throw new PaymentDeclinedError(`unknown payment token`);
      }),
    capture: ({ idempotencyKey }) => once(idempotencyKey, () => {}),
    void: ({ idempotencyKey }) => once(idempotencyKey, () => {}),
    refund: ({ idempotencyKey }) => once(idempotencyKey, () => {}),
  };
}
