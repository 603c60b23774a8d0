import { ApplicationFailure } from '@temporalio/activity';
import { inArray } from 'drizzle-orm';
import { FailureType } from '../domain/failures.js';
import type { PricedLine, Quote } from '../domain/order.js';
import { orderTotals } from '../domain/pricing.js';
import type { CreateOrderRequest } from '../domain/schemas.js';
import { products } from '../db/schema.js';
import type { ActivityDependencies } from './deps.js';

export function createCatalogActivities({ db }: ActivityDependencies) {
  return {
    /** Prices an order from the catalog (never from the caller), with shipping by speed and weight. */
    async quoteOrder(input: {
      items: CreateOrderRequest['items'];
      shippingSpeed: CreateOrderRequest['shippingSpeed'];
    }): Promise<Quote> {
      const found = await db
        .select()
        .from(products)
        .where(
          inArray(
            products.sku,
            input.items.map((item) => item.sku),
          ),
        );
      const bySku = new Map(found.map((product) => [product.sku, product]));
      const missing = input.items.filter((item) => !bySku.has(item.sku)).map((item) => item.sku);
      if (missing.length > 0)
        throw ApplicationFailure.nonRetryable(`unknown sku: ${missing.join(', ')}`, FailureType.UnknownSku);
      const currencies = new Set(found.map((product) => product.currency));
      if (currencies.size > 1)
        throw ApplicationFailure.nonRetryable(
          `order mixes currencies: ${[...currencies].join(', ')}`,
          FailureType.MixedCurrencies,
        );
      const lines: PricedLine[] = input.items.map((item) => {
        const product = bySku.get(item.sku)!;
        return {
          sku: item.sku,
          name: product.name,
          quantity: item.quantity,
          unitPrice: product.price,
          weightGrams: product.weightGrams,
          lengthMm: product.lengthMm,
          widthMm: product.widthMm,
          heightMm: product.heightMm,
        };
      });
      return { lines, totals: orderTotals(lines, input.shippingSpeed, found[0]!.currency) };
    },
  };
}
