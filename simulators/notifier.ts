import type { Notifier } from '../activities/ports.js';

/**
 * Stands in for the e-mail provider: the message is already recorded in `notifications` by the
 * activity; here it is only logged, as a provider's "accepted" would be.
 */
export function createLoggingNotifier(log: (message: string, fields: Record<string, unknown>) => void): Notifier {
  return {
    async send(message) {
      log('customer notified', { recipient: message.recipient, subject: message.subject, idempotencyKey: message.idempotencyKey });
    },
  };
}
