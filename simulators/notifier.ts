import type { Notifier } from '../activities/ports.js';

/** The simulated e-mail provider, with a switch to take it down (failure injection for tests). */
export interface SimulatedNotifier extends Notifier {
  /** While down, every send fails the way a provider outage does; up again, sends are accepted. */
  setDown(down: boolean): void;
}

/**
 * Stands in for the e-mail provider: the message is already recorded in `notifications` and the
 * dispatcher hands it over; here it is only logged, as a provider's "accepted" would be.
 */
export function createLoggingNotifier(
  log: (message: string, fields: Record<string, unknown>) => void,
): SimulatedNotifier {
  let down = false;
  return {
    setDown(value) {
      down = value;
    },
    async send(message) {
      if (down) throw new Error('notifier unavailable (simulated outage)');
      log('customer notified', {
        recipient: message.recipient,
        subject: message.subject,
        idempotencyKey: message.idempotencyKey,
      });
    },
  };
}
