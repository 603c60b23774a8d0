import { and, eq, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { simulatorRequests } from '../db/schema.js';
import type { Transaction } from '../db/stock.js';

/**
 * The simulated parties' memory, in the database so a restarted worker (or a second one) is the
 * same party: what each idempotency key did.
 */

/** Runs `body` in a transaction that holds a lock on `key`: attempts with one key run one at a time. */
export async function underKey<T>(db: Database, key: string, body: (tx: Transaction) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`);
    return body(tx);
  });
}

/**
 * Answers a request once per (party, key): the first call runs `effect` and keeps its answer; the
 * same key again gets that answer without running anything.
 */
export async function oncePerKey<T>(
  db: Database,
  party: string,
  key: string,
  effect: (tx: Transaction) => Promise<T>,
): Promise<T> {
  return underKey(db, `${party}:${key}`, async (tx) => {
    const [known] = await tx
      .select()
      .from(simulatorRequests)
      .where(and(eq(simulatorRequests.party, party), eq(simulatorRequests.idempotencyKey, key)));
    if (known) return (known.answer as { value: T }).value;
    const answer = await effect(tx);
    await tx.insert(simulatorRequests).values({ party, idempotencyKey: key, answer: { value: answer } });
    return answer;
  });
}
