import { sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { notificationIdempotencyKey } from './notifications.js';
import type { Notifier } from './ports.js';

/**
 * The other half of the notifications outbox: hands recorded messages to the notifier, off the
 * orders' critical path. It runs as a loop in every worker process; rows are claimed with
 * `FOR UPDATE SKIP LOCKED` and leased, so two dispatchers never send one message at the same time,
 * and the notifier's idempotency key (`<orderId>:<key>`) absorbs the rest (a send that timed out
 * but landed, a process that died between the send and the mark).
 */

export interface DispatcherOptions {
  /** Messages claimed per round, sent concurrently. */
  batchSize: number;
  /** A hand-over slower than this counts as failed (and is retried under the same key). */
  sendTimeoutMs: number;
  /** How long a claim holds a row: longer than a send may take, so a dead dispatcher's rows come back. */
  leaseMs: number;
  /** Exponential backoff after a failed hand-over: initialMs · 2^(attempts-1), at most maxMs, ±20 %. */
  backoff: { initialMs: number; maxMs: number };
  /** The pause when nothing was due. */
  idleMs: number;
}

export const DEFAULT_DISPATCHER_OPTIONS: DispatcherOptions = {
  batchSize: 20,
  sendTimeoutMs: 30_000,
  leaseMs: 60_000,
  backoff: { initialMs: 1_000, maxMs: 5 * 60_000 },
  idleMs: 500,
};

type Claimed = {
  id: number;
  order_id: string;
  kind: string;
  recipient: string;
  subject: string;
  body: string;
  attempts: number;
};

/** The wait before the next hand-over after `attempts` failed ones. */
export function backoffMs(
  attempts: number,
  backoff: DispatcherOptions['backoff'],
  random: () => number = Math.random,
): number {
  const base = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.max(0, Math.min(attempts - 1, 30)));
  return Math.round(base * (0.8 + 0.4 * random()));
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`notifier did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * One round: claims the due messages (for each order only its oldest unsent one, so a customer
 * hears of milestones in the order they happened), sends them, and records each outcome. A notice
 * scheduled ahead (`sendAt`: untried, not yet due) holds back nothing recorded after it.
 * Returns how many were claimed.
 */
export async function dispatchDueNotifications(
  deps: { db: Database; notifier: Notifier },
  overrides: Partial<DispatcherOptions> = {},
): Promise<number> {
  const options = { ...DEFAULT_DISPATCHER_OPTIONS, ...overrides };
  const { db, notifier } = deps;
  const claimed = await db.execute<Claimed>(sql`
    update notifications set attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => ${options.leaseMs / 1000})
    where id in (
      select n.id from notifications n
      where n.sent_at is null and n.next_attempt_at <= now()
        and not exists (select 1 from notifications earlier where earlier.order_id = n.order_id and earlier.sent_at is null and earlier.id < n.id
          and (earlier.attempts > 0 or earlier.next_attempt_at <= now()))
      order by n.next_attempt_at, n.id limit ${options.batchSize}
      for update skip locked)
    returning id, order_id, kind, recipient, subject, body, attempts`);
  // Concurrently, each bounded by the send timeout, so the whole batch finishes within its lease.
  await Promise.all(
    [...claimed].map(async (message) => {
      let error: string | null = null;
      try {
        const idempotencyKey = notificationIdempotencyKey({ orderId: message.order_id, kind: message.kind });
        await withTimeout(
          notifier.send({ idempotencyKey, recipient: message.recipient, subject: message.subject, body: message.body }),
          options.sendTimeoutMs,
        );
      } catch (cause) {
        error = cause instanceof Error ? cause.message : String(cause);
      }
      if (error === null) {
        await db.execute(sql`update notifications set sent_at = now(), last_error = null where id = ${message.id}`);
      } else {
        const wait = backoffMs(message.attempts, options.backoff);
        await db.execute(sql`
          update notifications set last_error = ${error.slice(0, 1000)}, next_attempt_at = now() + make_interval(secs => ${wait / 1000})
          where id = ${message.id} and sent_at is null`);
      }
    }),
  );
  return claimed.length;
}

/**
 * Dispatches until `signal` aborts, then returns once the round in flight is recorded (a worker
 * awaits this before it closes the database). Errors (the database away) are logged and retried.
 */
export async function runNotificationDispatcher(
  deps: { db: Database; notifier: Notifier },
  signal: AbortSignal,
  log: (message: string) => void,
  overrides: Partial<DispatcherOptions> = {},
): Promise<void> {
  const options = { ...DEFAULT_DISPATCHER_OPTIONS, ...overrides };
  while (!signal.aborted) {
    let claimed = 0;
    try {
      claimed = await dispatchDueNotifications(deps, options);
    } catch (error) {
      if (!signal.aborted) log(`notification dispatcher: ${String(error)}`);
    }
    if (claimed === 0) await pause(options.idleMs, signal);
  }
}

/** Waits `ms`, or less if `signal` aborts first. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
