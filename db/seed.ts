import { moveStock } from './stock.js';
import type { Database } from './client.js';
import { products, stock, warehouses } from './schema.js';

/**
 * Where each demo product sits on the floor, by catalog position: apparel in zone A, hard goods in
 * B, bulky and consumables in C; bins `<zone>-<aisle>-<shelf>` sort in walking order. The same in
 * every warehouse (migration 0009 sets them on a catalog seeded before).
 */
const PRODUCT_LOCATIONS = [
  { zone: 'A', bin: 'A-01-02' },
  { zone: 'A', bin: 'A-01-04' },
  { zone: 'A', bin: 'A-02-01' },
  { zone: 'B', bin: 'B-01-01' },
  { zone: 'B', bin: 'B-01-03' },
  { zone: 'A', bin: 'A-03-02' },
  { zone: 'B', bin: 'B-02-02' },
  { zone: 'B', bin: 'B-02-05' },
  { zone: 'C', bin: 'C-01-01' },
  { zone: 'B', bin: 'B-03-01' },
  { zone: 'C', bin: 'C-02-03' },
  { zone: 'C', bin: 'C-03-01' },
];

/** The demo catalog: prices in cents, weights in grams, dimensions in millimetres. */
export const DEMO_PRODUCTS = [
  {
    sku: 'TSHIRT-ORG-M',
    name: 'Organic cotton T-shirt (M)',
    price: 2500,
    weightGrams: 180,
    lengthMm: 300,
    widthMm: 220,
    heightMm: 20,
  },
  {
    sku: 'HOODIE-GRY-L',
    name: 'Grey hoodie (L)',
    price: 5900,
    weightGrams: 650,
    lengthMm: 350,
    widthMm: 280,
    heightMm: 60,
  },
  {
    sku: 'SNEAKER-WHT-42',
    name: 'White sneakers (EU 42)',
    price: 8900,
    weightGrams: 900,
    lengthMm: 330,
    widthMm: 210,
    heightMm: 120,
  },
  { sku: 'MUG-CERAMIC', name: 'Ceramic mug', price: 1400, weightGrams: 350, lengthMm: 120, widthMm: 90, heightMm: 100 },
  {
    sku: 'BOTTLE-STEEL',
    name: 'Steel water bottle',
    price: 2200,
    weightGrams: 320,
    lengthMm: 260,
    widthMm: 75,
    heightMm: 75,
  },
  {
    sku: 'BACKPACK-20L',
    name: 'Daypack 20 L',
    price: 7400,
    weightGrams: 800,
    lengthMm: 440,
    widthMm: 300,
    heightMm: 120,
  },
  {
    sku: 'HEADPHONES-BT',
    name: 'Bluetooth headphones',
    price: 12900,
    weightGrams: 280,
    lengthMm: 200,
    widthMm: 180,
    heightMm: 90,
  },
  {
    sku: 'CHARGER-65W',
    name: '65 W USB-C charger',
    price: 3900,
    weightGrams: 150,
    lengthMm: 70,
    widthMm: 70,
    heightMm: 30,
  },
  {
    sku: 'LAMP-DESK',
    name: 'LED desk lamp',
    price: 4500,
    weightGrams: 1200,
    lengthMm: 420,
    widthMm: 180,
    heightMm: 120,
  },
  {
    sku: 'BOOK-TEMPORAL',
    name: 'Durable Execution in Practice (book)',
    price: 3600,
    weightGrams: 700,
    lengthMm: 240,
    widthMm: 170,
    heightMm: 35,
  },
  { sku: 'YOGA-MAT', name: 'Yoga mat', price: 3200, weightGrams: 1800, lengthMm: 610, widthMm: 150, heightMm: 150 },
  {
    sku: 'COFFEE-1KG',
    name: 'Coffee beans 1 kg',
    price: 2800,
    weightGrams: 1050,
    lengthMm: 250,
    widthMm: 150,
    heightMm: 90,
  },
].map((product, index) => ({ ...product, currency: 'USD', ...PRODUCT_LOCATIONS[index]! }));

/** One warehouse per coast and one in the middle, each in its own time zone (carrier cut-offs are local). */
export const DEMO_WAREHOUSES = [
  {
    id: 'wh-east',
    name: 'East Coast DC',
    city: 'Newark',
    region: 'NJ',
    country: 'US',
    lat: 40.74,
    lon: -74.17,
    timeZone: 'America/New_York',
  },
  {
    id: 'wh-central',
    name: 'Central DC',
    city: 'Dallas',
    region: 'TX',
    country: 'US',
    lat: 32.78,
    lon: -96.8,
    timeZone: 'America/Chicago',
  },
  {
    id: 'wh-west',
    name: 'West Coast DC',
    city: 'Reno',
    region: 'NV',
    country: 'US',
    lat: 39.53,
    lon: -119.81,
    timeZone: 'America/Los_Angeles',
  },
];

/**
 * Skus only one warehouse carries: an order with both ships as two parcels (a split order), while
 * orders of the other skus (the demo's and the tests') fit in one warehouse.
 */
export const SINGLE_WAREHOUSE_SKUS: Record<string, string> = { 'YOGA-MAT': 'wh-west', 'COFFEE-1KG': 'wh-east' };

/** Units each warehouse starts with, per sku (the central one carries a narrower range). */
function initialUnits(warehouseId: string, index: number): number {
  const only = SINGLE_WAREHOUSE_SKUS[DEMO_PRODUCTS[index]!.sku];
  if (only && only !== warehouseId) return 0;
  if (warehouseId === 'wh-central') return index % 3 === 0 ? 0 : 25;
  return 40 + ((index * 7) % 30);
}

/** Loads the demo catalog and stock once; running it again changes nothing. */
export async function seedDemoData(db: Database): Promise<void> {
  await db.insert(products).values(DEMO_PRODUCTS).onConflictDoNothing();
  await db.insert(warehouses).values(DEMO_WAREHOUSES).onConflictDoNothing();
  await db.transaction(async (tx) => {
    for (const warehouse of DEMO_WAREHOUSES) {
      for (const [index, product] of DEMO_PRODUCTS.entries()) {
        await tx.insert(stock).values({ warehouseId: warehouse.id, sku: product.sku }).onConflictDoNothing();
        const units = initialUnits(warehouse.id, index);
        if (units === 0) continue;
        await moveStock(tx, {
          key: `seed:${warehouse.id}:${product.sku}`,
          warehouseId: warehouse.id,
          sku: product.sku,
          kind: 'restock',
          onHandDelta: units,
          reservedDelta: 0,
          reason: 'initial stock',
        });
      }
    }
  });
}
