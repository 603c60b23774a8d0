import { inArray } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { products } from '../../db/schema.js';

type Product = typeof products.$inferSelect;

/**
 * The catalog rows of some skus, each read from Postgres at most once per `ttlMs`: `POST /orders`
 * checks its skus and quotes from these without a query on the hot path. Products change only with
 * a deploy (migrations, db/seed.ts), and the workflow prices from the table itself, so a minute-old
 * row can at worst make the 202's quote a minute late. A sku not found is asked for again each time.
 */
export function catalogReader(db: Database, ttlMs = 60_000, now = () => Date.now()) {
  const cached = new Map<string, { row: Product; at: number }>();
  return async (skus: string[]): Promise<Product[]> => {
    const unique = [...new Set(skus)];
    const at = now();
    const stale = unique.filter((sku) => at - (cached.get(sku)?.at ?? -Infinity) > ttlMs);
    if (stale.length > 0)
      for (const row of await db.select().from(products).where(inArray(products.sku, stale)))
        cached.set(row.sku, { row, at });
    return unique.flatMap((sku) => {
      const hit = cached.get(sku);
      return hit ? [hit.row] : [];
    });
  };
}
