import { describe, expect, it } from 'vitest';
import { type AllocationPlan, type AvailableStock, planAllocation } from '../domain/allocation.js';
import { shipmentAmount, shippingShare } from '../domain/shares.js';

/** Three warehouses on a line of longitude: east is nearest to the customer, west farthest. */
const WAREHOUSES = [
  { id: 'east', location: { lat: 40, lon: -74 } },
  { id: 'central', location: { lat: 40, lon: -95 } },
  { id: 'west', location: { lat: 40, lon: -120 } },
];
const BOSTON = { lat: 42.3, lon: -71.4 };

function stock(table: Record<string, Record<string, number>>): AvailableStock[] {
  return Object.entries(table).flatMap(([warehouseId, skus]) =>
    Object.entries(skus).map(([sku, available]) => ({ warehouseId, sku, available })),
  );
}

const cases: {
  rule: string;
  lines: { sku: string; quantity: number }[];
  stock: Record<string, Record<string, number>>;
  policy?: 'ship_available' | 'wait_complete' | 'reject';
  destination?: { lat: number; lon: number } | null;
  plan: AllocationPlan;
}[] = [
  {
    rule: 'the nearest warehouse that holds every line ships everything',
    lines: [
      { sku: 'A', quantity: 2 },
      { sku: 'B', quantity: 1 },
    ],
    stock: { east: { A: 5, B: 5 }, central: { A: 5, B: 5 }, west: { A: 5, B: 5 } },
    plan: {
      shipments: [
        {
          warehouseId: 'east',
          lines: [
            { sku: 'A', quantity: 2 },
            { sku: 'B', quantity: 1 },
          ],
        },
      ],
      missing: [],
    },
  },
  {
    rule: 'a farther warehouse holding everything beats two nearer ones (fewest warehouses first)',
    lines: [
      { sku: 'A', quantity: 1 },
      { sku: 'B', quantity: 1 },
    ],
    stock: { east: { A: 5 }, central: { B: 5 }, west: { A: 1, B: 1 } },
    plan: {
      shipments: [
        {
          warehouseId: 'west',
          lines: [
            { sku: 'A', quantity: 1 },
            { sku: 'B', quantity: 1 },
          ],
        },
      ],
      missing: [],
    },
  },
  {
    rule: 'no single warehouse: the fewest that cover, then the shortest total distance',
    lines: [
      { sku: 'A', quantity: 1 },
      { sku: 'B', quantity: 1 },
    ],
    stock: { east: { A: 5 }, central: { B: 5 }, west: { B: 5 } },
    plan: {
      shipments: [
        { warehouseId: 'east', lines: [{ sku: 'A', quantity: 1 }] },
        { warehouseId: 'central', lines: [{ sku: 'B', quantity: 1 }] },
      ],
      missing: [],
    },
  },
  {
    rule: 'a line no warehouse holds whole is split, nearest first',
    lines: [{ sku: 'A', quantity: 5 }],
    stock: { east: { A: 3 }, central: { A: 1 }, west: { A: 1 } },
    plan: {
      shipments: [
        { warehouseId: 'east', lines: [{ sku: 'A', quantity: 3 }] },
        { warehouseId: 'central', lines: [{ sku: 'A', quantity: 1 }] },
        { warehouseId: 'west', lines: [{ sku: 'A', quantity: 1 }] },
      ],
      missing: [],
    },
  },
  {
    rule: 'two warehouses covering a split line beat three',
    lines: [{ sku: 'A', quantity: 5 }],
    stock: { east: { A: 3 }, central: { A: 1 }, west: { A: 2 } },
    plan: {
      shipments: [
        { warehouseId: 'east', lines: [{ sku: 'A', quantity: 3 }] },
        { warehouseId: 'west', lines: [{ sku: 'A', quantity: 2 }] },
      ],
      missing: [],
    },
  },
  {
    rule: 'ship_available: what the network holds now ships, the rest is missing',
    lines: [
      { sku: 'A', quantity: 2 },
      { sku: 'B', quantity: 3 },
    ],
    stock: { east: { A: 2 }, central: { B: 1 }, west: {} },
    policy: 'ship_available',
    plan: {
      shipments: [
        { warehouseId: 'east', lines: [{ sku: 'A', quantity: 2 }] },
        { warehouseId: 'central', lines: [{ sku: 'B', quantity: 1 }] },
      ],
      missing: [{ sku: 'B', quantity: 2 }],
    },
  },
  {
    rule: 'wait_complete plans nothing when the network cannot cover the order',
    lines: [{ sku: 'A', quantity: 2 }],
    stock: { east: { A: 1 } },
    policy: 'wait_complete',
    plan: { shipments: [], missing: [{ sku: 'A', quantity: 2 }] },
  },
  {
    rule: 'reject plans nothing either (the workflow rejects the order)',
    lines: [{ sku: 'A', quantity: 2 }],
    stock: { east: { A: 1 } },
    policy: 'reject',
    plan: { shipments: [], missing: [{ sku: 'A', quantity: 2 }] },
  },
  {
    rule: 'nothing anywhere: nothing planned, everything missing',
    lines: [{ sku: 'A', quantity: 1 }],
    stock: {},
    policy: 'ship_available',
    plan: { shipments: [], missing: [{ sku: 'A', quantity: 1 }] },
  },
  {
    rule: 'repeated lines of one sku count together; reserved units (negative available) count as none',
    lines: [
      { sku: 'A', quantity: 1 },
      { sku: 'A', quantity: 1 },
    ],
    stock: { east: { A: -1 }, central: { A: 2 } },
    plan: { shipments: [{ warehouseId: 'central', lines: [{ sku: 'A', quantity: 2 }] }], missing: [] },
  },
  {
    rule: 'an address with no location: every warehouse equally near, ties by ID',
    lines: [{ sku: 'A', quantity: 1 }],
    stock: { east: { A: 1 }, central: { A: 1 } },
    destination: null,
    plan: { shipments: [{ warehouseId: 'central', lines: [{ sku: 'A', quantity: 1 }] }], missing: [] },
  },
];

describe('allocation planner', () => {
  it.each(cases)('$rule', ({ lines, stock: table, policy, destination, plan }) => {
    expect(
      planAllocation({
        lines,
        warehouses: WAREHOUSES,
        stock: stock(table),
        destination: destination === undefined ? BOSTON : destination,
        policy: policy ?? 'ship_available',
      }),
    ).toEqual(plan);
  });
});

describe('shipment shares', () => {
  const prices = [
    { sku: 'A', unitPrice: 1000 },
    { sku: 'B', unitPrice: 250 },
  ];
  it.each([
    { number: 1, lines: [{ sku: 'A', quantity: 2 }], amount: 2000 + 599 },
    { number: 2, lines: [{ sku: 'B', quantity: 3 }], amount: 750 },
  ])('shipment $number is charged its units, and shipping only with the first', ({ number, lines, amount }) => {
    expect(shipmentAmount(prices, lines, shippingShare({ shipping: 599 }, number))).toBe(amount);
  });
});
