import { Router } from 'express';
import { asc } from 'drizzle-orm';
import { products, stock } from '../../db/schema.js';
import type { ApiContext } from '../context.js';

export function catalogRouter({ db }: ApiContext): Router {
  const router = Router();

  /** The catalog with what each warehouse holds and can still promise. */
  router.get('/products', async (_req, res) => {
    const [catalog, levels] = await Promise.all([
      db.select().from(products).orderBy(asc(products.sku)),
      db.select().from(stock).orderBy(asc(stock.warehouseId)),
    ]);
    res.json({
      products: catalog.map((product) => ({
        ...product,
        stock: levels
          .filter((level) => level.sku === product.sku)
          .map((level) => ({
            warehouseId: level.warehouseId,
            onHand: level.onHand,
            reserved: level.reserved,
            available: level.onHand - level.reserved,
          })),
      })),
    });
  });

  return router;
}
