import { sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
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
