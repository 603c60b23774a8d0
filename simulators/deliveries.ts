import { sql } from 'drizzle-orm';
import { signWebhook } from '../platform/credentials.js';
import type { Database } from '../db/client.js';
import { simulatorDeliveries } from '../db/schema.js';
import type { Transaction } from '../db/stock.js';

/**
 * The simulated parties' outgoing calls to this system's API. They are stored first and sent when
 * due, the way a real WMS or carrier queues its webhooks, so a restart of the worker loses nothing.
 */
export async function scheduleDelivery(
  db: Database | Transaction,
  delivery: { dedupeKey: string; dueAt: Date; path: string; body: Record<string, unknown> },
): Promise<void> {
  await db.insert(simulatorDeliveries).values(delivery).onConflictDoNothing();
}

/** Withdraws a delivery not sent yet (the party was told the task is off). */
export async function cancelDelivery(db: Database | Transaction, dedupeKey: string): Promise<void> {
  await db.execute(sql`delete from simulator_deliveries where dedupe_key = ${dedupeKey} and delivered_at is null`);
}

type DueDelivery = {
  id: number;
  path: string;
  body: unknown;
  attempts: number;
};

const MAX_ATTEMPTS = 30;

/**
 * Where the simulated parties call, and how they prove who they are, as a real one would: the
 * carriers sign each webhook with the shared secret (`/carriers/...`), the warehouse system sends
 * its API key (a `warehouse` role) on everything else.
 */
export interface DeliveryTarget {
  baseUrl: string;
  apiKey: string;
  carrierWebhookSecret: string;
}

function credentialHeaders(target: DeliveryTarget, path: string, body: string): Record<string, string> {
  return path.startsWith('/carriers/')
    ? signWebhook(target.carrierWebhookSecret, body)
    : { authorization: `Bearer ${target.apiKey}` };
}

/** Claims due deliveries (several senders may run: SKIP LOCKED) and posts them to the API. */
export async function sendDueDeliveries(
  db: Database,
  target: DeliveryTarget,
  post: typeof fetch = fetch,
): Promise<number> {
  const due = await db.execute<DueDelivery>(sql`
    update simulator_deliveries set claimed_until = now() + interval '30 seconds', attempts = attempts + 1
    where id in (
      select id from simulator_deliveries
      where delivered_at is null and due_at <= now() and attempts < ${MAX_ATTEMPTS}
        and (claimed_until is null or claimed_until < now())
      order by due_at, id limit 50
      for update skip locked)
    returning id, path, body, attempts`);
  // One at a time, in due order: a parcel's scans reach the API in the order they happened.
  for (const delivery of [...due].sort((a, b) => a.id - b.id)) {
    let error: string | null = null;
    try {
      // Signed when sent, not when scheduled: a late or retried webhook carries a fresh timestamp.
      const body = JSON.stringify(delivery.body);
      const response = await post(new URL(delivery.path, target.baseUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...credentialHeaders(target, delivery.path, body) },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      // A 4xx other than "not found yet" or a refused credential (fixable by configuration) is final:
      // retrying the same body cannot change the answer.
      if (response.status >= 500 || [401, 403, 404, 429].includes(response.status)) error = `HTTP ${response.status}`;
    } catch (cause) {
      error = String(cause);
    }
    if (error === null) {
      await db.execute(
        sql`update simulator_deliveries set delivered_at = now(), last_error = null where id = ${delivery.id}`,
      );
    } else {
      const backoffSeconds = Math.min(60, 2 ** Math.min(delivery.attempts, 6) / 4);
      await db.execute(sql`
          update simulator_deliveries set last_error = ${error}, claimed_until = null,
            due_at = now() + make_interval(secs => ${backoffSeconds}) where id = ${delivery.id}`);
    }
  }
  return due.length;
}

/** Sends due deliveries until `signal` aborts. */
export async function runDeliveryLoop(
  db: Database,
  target: DeliveryTarget,
  signal: AbortSignal,
  log: (message: string) => void,
): Promise<void> {
  while (!signal.aborted) {
    let sent = 0;
    try {
      sent = await sendDueDeliveries(db, target);
    } catch (error) {
      if (!signal.aborted) log(`simulator deliveries: ${String(error)}`);
    }
    if (sent === 0) await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
