import { distanceKm, type LatLon } from './geo.js';

/**
 * The allocation planner: which warehouses ship which units of an order. Pure, so the workflow,
 * the reservation activity and the tests agree on one rule:
 * 1. the nearest warehouse that holds every line;
 * 2. otherwise the fewest warehouses that together cover the order, then the shortest total
 *    distance, a line split across them when no one of them holds all of it;
 * 3. when the whole network cannot cover the order now, `PARTIAL_FULFILLMENT` decides: plan what
 *    is in stock (`ship_available`, the rest `missing`) or plan nothing (`wait_complete`, `reject`).
 */

export interface AllocationLine {
  sku: string;
  quantity: number;
}

export interface AllocationWarehouse {
  id: string;
  location: LatLon;
}

/** Units free to reserve (`on_hand - reserved`) at one warehouse. */
export interface AvailableStock {
  warehouseId: string;
  sku: string;
  available: number;
}

export const PARTIAL_FULFILLMENT_POLICIES = ['ship_available', 'wait_complete', 'reject'] as const;
export type PartialFulfillmentPolicy = (typeof PARTIAL_FULFILLMENT_POLICIES)[number];

export interface PlannedShipment {
  warehouseId: string;
  lines: AllocationLine[];
}

export interface AllocationPlan {
  /** Nearest warehouse first. Empty when nothing can (or may) ship now. */
  shipments: PlannedShipment[];
  /** Units no warehouse can ship now (all of the order when the policy plans nothing). */
  missing: AllocationLine[];
}

/** Beyond this many warehouses with stock, subsets are not enumerated: nearest-first greedy. */
const EXHAUSTIVE_LIMIT = 12;

export function planAllocation(input: {
  lines: readonly AllocationLine[];
  warehouses: readonly AllocationWarehouse[];
  stock: readonly AvailableStock[];
  /** Where the parcel goes; null (unknown address) makes every warehouse equally near. */
  destination: LatLon | null;
  policy: PartialFulfillmentPolicy;
}): AllocationPlan {
  const lines = mergeLines(input.lines);
  const free = new Map<string, number>();
  for (const row of input.stock)
    free.set(
      key(row.warehouseId, row.sku),
      (free.get(key(row.warehouseId, row.sku)) ?? 0) + Math.max(0, row.available),
    );
  const availableAt = (warehouseId: string, sku: string) => free.get(key(warehouseId, sku)) ?? 0;
  const distance = (warehouse: AllocationWarehouse) =>
    input.destination ? distanceKm(input.destination, warehouse.location) : 0;
  // Nearest first, ties by ID, so equal inputs always give the same plan.
  const byDistance = [...input.warehouses]
    .map((warehouse) => ({ id: warehouse.id, km: distance(warehouse) }))
    .sort((a, b) => a.km - b.km || a.id.localeCompare(b.id));
  const holdingAny = byDistance.filter((w) => lines.some((line) => availableAt(w.id, line.sku) > 0));

  const covers = (set: readonly { id: string }[]) =>
    lines.every((line) => set.reduce((sum, w) => sum + availableAt(w.id, line.sku), 0) >= line.quantity);

  let chosen: { id: string; km: number }[] | null = null;
  if (holdingAny.length <= EXHAUSTIVE_LIMIT) {
    for (let size = 1; size <= holdingAny.length && !chosen; size++) {
      for (const subset of subsetsOf(holdingAny, size)) {
        if (!covers(subset)) continue;
        const km = subset.reduce((sum, w) => sum + w.km, 0);
        if (!chosen || km < chosen.reduce((sum, w) => sum + w.km, 0)) chosen = subset;
      }
    }
  } else if (covers(holdingAny)) {
    chosen = holdingAny;
  }

  if (!chosen) {
    if (input.policy !== 'ship_available') return { shipments: [], missing: lines };
    chosen = holdingAny;
  }
  return assign(lines, chosen, availableAt);
}

/** Takes each line from the chosen warehouses nearest first; what none of them holds is missing. */
function assign(
  lines: AllocationLine[],
  chosen: { id: string; km: number }[],
  availableAt: (warehouseId: string, sku: string) => number,
): AllocationPlan {
  const perWarehouse = new Map<string, AllocationLine[]>();
  const missing: AllocationLine[] = [];
  for (const line of lines) {
    let left = line.quantity;
    for (const warehouse of chosen) {
      if (left === 0) break;
      const take = Math.min(left, availableAt(warehouse.id, line.sku));
      if (take === 0) continue;
      left -= take;
      const planned = perWarehouse.get(warehouse.id) ?? [];
      planned.push({ sku: line.sku, quantity: take });
      perWarehouse.set(warehouse.id, planned);
    }
    if (left > 0) missing.push({ sku: line.sku, quantity: left });
  }
  const shipments = chosen
    .filter((warehouse) => perWarehouse.has(warehouse.id))
    .map((warehouse) => ({ warehouseId: warehouse.id, lines: perWarehouse.get(warehouse.id)! }));
  return { shipments, missing };
}

/** One line per sku, in sku order (the order the reservation takes rows in). */
function mergeLines(lines: readonly AllocationLine[]): AllocationLine[] {
  const bySku = new Map<string, number>();
  for (const line of lines) bySku.set(line.sku, (bySku.get(line.sku) ?? 0) + line.quantity);
  return [...bySku]
    .map(([sku, quantity]) => ({ sku, quantity }))
    .filter((line) => line.quantity > 0)
    .sort((a, b) => a.sku.localeCompare(b.sku));
}

function key(warehouseId: string, sku: string): string {
  return `${warehouseId}\u0000${sku}`;
}

/** Every subset of `items` of exactly `size`, in order. */
function* subsetsOf<T>(items: readonly T[], size: number, start = 0): Generator<T[]> {
  if (size === 0) {
    yield [];
    return;
  }
  for (let i = start; i <= items.length - size; i++)
    for (const rest of subsetsOf(items, size - 1, i + 1)) yield [items[i]!, ...rest];
}
