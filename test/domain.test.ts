import { describe, expect, it } from 'vitest';
import { checkShippingAddress } from '../domain/address.js';
import { addBusinessDays } from '../domain/calendar.js';
import { distanceKm, locateAddress } from '../domain/geo.js';
import { DEFAULT_HIGH_VALUE_ORDER, orderPriority, type PriorityFacts, priorityKey } from '../domain/priority.js';
import { cancellationRefusal } from '../domain/cancellation.js';
import { type UndoPhase, undoSequence } from '../domain/compensation.js';
import type { PricedLine } from '../domain/order.js';
import { chooseBox, weightWithinTolerance } from '../domain/packaging.js';
import { orderTotals } from '../domain/pricing.js';
import { authorizedUnits, returnRefund, returnRefusal, unitsLeftToReturn } from '../domain/returns.js';
import { chooseCarrierService } from '../activities/shipping.js';

/** The pure rules the workflow and the API lean on. */

const line = (
  sku: string,
  quantity: number,
  size: [number, number, number] = [100, 100, 50],
  weightGrams = 200,
  unitPrice = 1000,
): PricedLine => ({
  sku,
  name: sku,
  quantity,
  unitPrice,
  weightGrams,
  lengthMm: size[0],
  widthMm: size[1],
  heightMm: size[2],
});

describe('pricing and packing', () => {
  it('prices shipping by speed and started kilogram past the first', () => {
    expect(orderTotals([line('A', 2)], 'standard', 'USD')).toEqual({
      subtotal: 2000,
      shipping: 599,
      total: 2599,
      currency: 'USD',
    });
    expect(orderTotals([line('A', 1, undefined, 2500)], 'overnight', 'USD').shipping).toBe(2999 + 2 * 400);
  });

  it('chooses the smallest box the items fit in by size, volume and weight, and none when nothing fits', () => {
    expect(chooseBox([line('A', 1)])?.code).toBe('S');
    expect(chooseBox([line('A', 1, [610, 150, 150])])?.code).toBe('XL');
    expect(chooseBox([line('A', 1, [100, 100, 50], 3000)])?.code).toBe('M');
    expect(chooseBox([line('A', 1, [900, 100, 100])])).toBeNull();
  });

  it('accepts a packed weight within 10%', () => {
    expect(weightWithinTolerance(1000, 1090)).toBe(true);
    expect(weightWithinTolerance(1000, 1200)).toBe(false);
  });

  it('promises in business days, skipping weekends', () => {
    // Friday 2026-11-20 + 1 business day = Monday 2026-11-23.
    expect(addBusinessDays(new Date('2026-11-20T12:00:00Z'), 1).toISOString()).toBe('2026-11-23T12:00:00.000Z');
  });

  it('buys the cheapest carrier service that is fast enough', () => {
    const rates = [
      { carrier: 'a', service: 'ground', transitDays: 5, cost: 500, currency: 'USD' },
      { carrier: 'b', service: 'two_day', transitDays: 2, cost: 900, currency: 'USD' },
      { carrier: 'c', service: 'express', transitDays: 1, cost: 2500, currency: 'USD' },
    ];
    expect(chooseCarrierService(rates, 'standard')?.carrier).toBe('a');
    expect(chooseCarrierService(rates, 'expedited')?.carrier).toBe('b');
    expect(chooseCarrierService(rates, 'overnight')?.carrier).toBe('c');
    expect(chooseCarrierService(rates.slice(0, 1), 'overnight')).toBeNull();
  });
});

describe('cancellation policy', () => {
  const open = { status: 'confirmed' as const, captured: false, leftWarehouse: false, closing: false };
  it('lets anyone cancel before capture, only support and admin after, and nobody once shipped or closed', () => {
    expect(cancellationRefusal(open, { id: 's', role: 'service' })).toBeNull();
    expect(
      cancellationRefusal({ ...open, status: 'processing', captured: true }, { id: 's', role: 'service' })?.failureType,
    ).toBe('CancellationNotAllowed');
    expect(
      cancellationRefusal({ ...open, status: 'processing', captured: true }, { id: 'a', role: 'support' }),
    ).toBeNull();
    expect(
      cancellationRefusal({ ...open, captured: true, leftWarehouse: true }, { id: 'a', role: 'admin' })?.failureType,
    ).toBe('AlreadyShipped');
    expect(cancellationRefusal({ ...open, status: 'completed' }, { id: 'a', role: 'admin' })?.failureType).toBe(
      'OrderClosed',
    );
  });
});

describe('return rules', () => {
  const delivered = [
    { sku: 'A', quantity: 2 },
    { sku: 'B', quantity: 1 },
  ];
  const order = { status: 'delivered', returnableUntil: '2026-12-01T00:00:00.000Z', delivered, returns: [] };
  const now = Date.parse('2026-11-21T00:00:00.000Z');

  it('counts open authorizations by what they asked for, settled ones by what came back, expired ones not at all', () => {
    const returns = [
      { status: 'authorized' as const, items: [{ sku: 'A', quantity: 1 }], units: [] },
      { status: 'refunded' as const, items: [{ sku: 'B', quantity: 1 }], units: [] },
      { status: 'expired' as const, items: [{ sku: 'A', quantity: 1 }], units: [] },
    ];
    expect(unitsLeftToReturn(delivered, returns, 'A')).toBe(1);
    expect(unitsLeftToReturn(delivered, returns, 'B')).toBe(1);
    expect(unitsLeftToReturn(delivered, returns)).toBe(2);
  });

  it('accepts returns inside the window for units left, and says why otherwise', () => {
    expect(returnRefusal(order, [{ sku: 'A', quantity: 2 }], now)).toBeNull();
    expect(returnRefusal(order, [{ sku: 'A', quantity: 3 }], now)).toBe('only 2 × A can still be returned');
    expect(returnRefusal(order, [{ sku: 'Z', quantity: 1 }], now)).toBe('Z is not part of this order');
    expect(returnRefusal(order, [{ sku: 'A', quantity: 1 }], Date.parse('2026-12-01T00:00:00.000Z'))).toMatch(
      /window closed/,
    );
    expect(
      returnRefusal({ ...order, status: 'shipped', returnableUntil: null }, [{ sku: 'A', quantity: 1 }], now),
    ).toMatch(/once it is delivered/);
  });

  it('refunds only the units a return authorized, whatever else is in the box', () => {
    const received = [
      { sku: 'A', quantity: 1, condition: 'damaged' as const },
      { sku: 'A', quantity: 2, condition: 'resalable' as const },
      { sku: 'B', quantity: 1, condition: 'resalable' as const },
    ];
    expect(authorizedUnits([{ sku: 'A', quantity: 2 }], received)).toEqual([
      { sku: 'A', quantity: 1, condition: 'damaged' },
      { sku: 'A', quantity: 1, condition: 'resalable' },
    ]);
  });
});

describe('undoSequence: what a closing order undoes first', () => {
  const named = (...undos: [string, UndoPhase][]) => undos.map(([name, phase]) => ({ name, phase }));
  it.each([
    {
      case: 'a cancel after the label: money, then tasks, label, shelf, reservation',
      registered: named(
        ['release', 'reservation'],
        ['void auth', 'money'],
        ['refund', 'money'],
        ['withdraw tasks', 'warehouse_tasks'],
        ['re-shelve', 'shelf'],
        ['void label', 'label'],
      ),
      expected: ['refund', 'void auth', 'withdraw tasks', 'void label', 're-shelve', 'release'],
    },
    {
      case: 'a cancel in the buffer',
      registered: named(['release', 'reservation'], ['void auth', 'money']),
      expected: ['void auth', 'release'],
    },
    {
      case: 'after a reship: the newest of a phase first',
      registered: named(['release', 'reservation'], ['refund', 'money'], ['release again', 'reservation']),
      expected: ['refund', 'release again', 'release'],
    },
    { case: 'nothing done yet', registered: [], expected: [] },
  ])('$case', ({ registered, expected }) => {
    expect(undoSequence(registered).map((undo) => undo.name)).toEqual(expected);
  });
});

describe('returnRefund: what a return parcel is refunded', () => {
  const prices = [
    { sku: 'MUG', unitPrice: 1400 },
    { sku: 'BOOK', unitPrice: 3600 },
  ];
  const mug = (quantity: number, condition: 'resalable' | 'damaged') => ({ sku: 'MUG', quantity, condition });
  it.each([
    {
      case: 'seller fault: the items and the shipping',
      reason: 'damaged',
      shippingRefunded: false,
      received: [mug(1, 'damaged'), mug(1, 'resalable')],
      units: 2,
      itemsPrice: 2800,
      shipping: 699,
    },
    {
      case: 'seller fault, shipping already refunded by an earlier return',
      reason: 'wrong_item',
      shippingRefunded: true,
      received: [mug(2, 'resalable')],
      units: 2,
      itemsPrice: 2800,
      shipping: 0,
    },
    {
      case: "the customer's choice: no shipping",
      reason: 'no_longer_needed',
      shippingRefunded: false,
      received: [mug(2, 'resalable')],
      units: 2,
      itemsPrice: 2800,
      shipping: 0,
    },
    {
      case: 'more in the box than authorized: only the authorized units',
      reason: 'other',
      shippingRefunded: false,
      received: [mug(3, 'resalable')],
      units: 2,
      itemsPrice: 2800,
      shipping: 0,
    },
    {
      case: 'nothing authorized came back',
      reason: 'damaged',
      shippingRefunded: false,
      received: [{ sku: 'BOOK', quantity: 1, condition: 'resalable' as const }],
      units: 0,
      itemsPrice: 0,
      shipping: 699,
    },
  ])('$case', ({ reason, shippingRefunded, received, units, itemsPrice, shipping }) => {
    const refund = returnRefund({
      authorized: [{ sku: 'MUG', quantity: 2 }],
      received,
      prices,
      reason,
      shipping: 699,
      shippingRefunded,
    });
    expect(refund.units.reduce((sum, unit) => sum + unit.quantity, 0)).toBe(units);
    expect(refund.itemsPrice).toBe(itemsPrice);
    expect(refund.shipping).toBe(shipping);
  });
});

describe('orderPriority: how soon an order is served', () => {
  const facts = (overrides: Partial<PriorityFacts>): PriorityFacts => ({
    shippingSpeed: 'standard',
    total: 2599,
    highValueOrder: DEFAULT_HIGH_VALUE_ORDER,
    ...overrides,
  });
  it.each<[string, Partial<PriorityFacts>, string]>([
    ['overnight shipping is urgent', { shippingSpeed: 'overnight' }, 'urgent'],
    [
      'overnight beats every other reason',
      { shippingSpeed: 'overnight', customerTier: 'vip', total: 99_999 },
      'urgent',
    ],
    ['expedited shipping is high', { shippingSpeed: 'expedited' }, 'high'],
    ['a vip customer is high', { customerTier: 'vip' }, 'high'],
    ['a standard-tier customer is normal', { customerTier: 'standard' }, 'normal'],
    ['a total at the threshold is high', { total: 50_000 }, 'high'],
    ['a total one cent under it is normal', { total: 49_999 }, 'normal'],
    ['the threshold is configurable', { total: 20_000, highValueOrder: 20_000 }, 'high'],
    ['an order not priced yet is not high-value', { total: null }, 'normal'],
    ['standard shipping, small, no tier: normal', {}, 'normal'],
  ])('%s', (_rule, overrides, expected) => {
    expect(orderPriority(facts(overrides))).toBe(expected);
  });

  it('maps to Temporal priority keys: urgent first, normal at the server default', () => {
    expect([priorityKey('urgent'), priorityKey('high'), priorityKey('normal')]).toEqual([1, 2, 3]);
  });
});

describe('checkShippingAddress: real postal data', () => {
  const address = {
    name: 'Grace Hopper',
    line1: '1 Market St',
    city: 'San Francisco',
    region: 'CA',
    postalCode: '94105',
    country: 'US',
  };
  it.each<[string, Partial<typeof address>, Partial<typeof address>]>([
    ['a real ZIP in its state and city', {}, {}],
    ['ZIP+4 becomes five digits', { postalCode: '94105-1234' }, { postalCode: '94105' }],
    ['ZIP+4 without a dash too', { postalCode: '941051234' }, { postalCode: '94105' }],
    ['a lower-case state becomes its code', { region: 'ca' }, { region: 'CA' }],
    ['a state by its name becomes its code', { region: 'california' }, { region: 'CA' }],
    ['the city matched leniently, spelt as the ZIP has it', { city: '  SAN  francisco ' }, { city: 'San Francisco' }],
    ['"St." is "Saint"', { city: 'St. Louis', region: 'MO', postalCode: '63101' }, { city: 'Saint Louis' }],
    [
      'punctuation does not matter, the ZIP’s spelling is kept',
      { city: 'Winston-Salem', region: 'NC', postalCode: '27101' },
      { city: 'Winston Salem' },
    ],
    [
      'another country: its postal-code format',
      { country: 'DE', region: 'Berlin', city: 'Berlin', postalCode: '10115' },
      {},
    ],
    [
      'a postal code is upper-cased',
      { country: 'GB', region: 'London', city: 'London', postalCode: 'sw1a 1aa' },
      { postalCode: 'SW1A 1AA' },
    ],
  ])('accepts %s', (_case, overrides, normalized) => {
    const check = checkShippingAddress({ ...address, ...overrides });
    expect(check).toEqual({ ok: true, address: expect.objectContaining({ ...address, ...overrides, ...normalized }) });
  });

  it.each<[string, Partial<typeof address>, string, string]>([
    ['a ZIP in another state', { region: 'NV' }, 'postalCode', '94105 is in CA, not NV'],
    ['a ZIP that does not exist', { postalCode: '00000' }, 'postalCode', 'ZIP code 00000 does not exist'],
    ['a ZIP that is not five digits', { postalCode: '9410' }, 'postalCode', '9410 is not a US ZIP code'],
    ['letters for a ZIP', { postalCode: 'SW1A 1AA' }, 'postalCode', 'is not a US ZIP code'],
    ['a state that is not one', { region: 'Narnia' }, 'region', '94105 is in CA, not Narnia'],
    ['a city the ZIP is not in', { city: 'Oakland' }, 'city', '94105 is San Francisco, CA, not Oakland'],
    [
      'a postal code of the wrong format',
      { country: 'DE', postalCode: '1011' },
      'postalCode',
      '1011 is not a postal code of DE',
    ],
    ['a country that does not exist', { country: 'XX' }, 'country', 'XX is not a country we know'],
  ])('refuses %s, naming the field with a hint', (_case, overrides, field, hint) => {
    const check = checkShippingAddress({ ...address, ...overrides });
    expect(check.ok).toBe(false);
    const problems = check.ok ? [] : check.problems;
    expect(problems).toContainEqual({ field, message: expect.stringContaining(hint) });
  });
});

describe('locateAddress: where a parcel goes', () => {
  it('locates a US address by its ZIP, finer than its state', () => {
    const sf = locateAddress({ country: 'US', region: 'CA', postalCode: '94105' })!;
    const la = locateAddress({ country: 'US', region: 'CA', postalCode: '90012' })!;
    expect(distanceKm(sf, { lat: 37.79, lon: -122.39 })).toBeLessThan(5);
    expect(distanceKm(sf, la)).toBeGreaterThan(500);
  });

  it('falls back to the state for a ZIP the data lacks, and has no location abroad', () => {
    expect(locateAddress({ country: 'US', region: 'CA', postalCode: '00000' })).toEqual({ lat: 35.5, lon: -119.4 });
    expect(locateAddress({ country: 'DE', region: 'Berlin', postalCode: '10115' })).toBeNull();
  });
});
