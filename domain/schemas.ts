import { z } from 'zod';
import { customerTiers } from './priority.js';
import { returnReasons } from './returns.js';

/**
 * Request contracts at the API boundary. Strict: an unknown field is an error, not silently dropped.
 */

/**
 * Text with no control character (Unicode category Cc: C0 U+0000–U+001F, DEL U+007F, C1
 * U+0080–U+009F): the one definition of what text from a caller may hold. Postgres text cannot
 * hold U+0000 at all, and the rest have no business in names, addresses, reasons or scans.
 * The end anchor is `(?![\s\S])` rather than `$` because the OpenAPI document's `pattern` is also
 * read by Python (schemathesis), whose `$` lets a final line feed through; server and fuzzer
 * must agree on what is valid.
 */
// eslint-disable-next-line no-control-regex -- naming the control characters is the point
export const SINGLE_LINE_TEXT = /^[^\x00-\x1f\x7f-\x9f]*(?![\s\S])/;
/** The same, but tab, line feed and carriage return are allowed: comments and notes. */
// eslint-disable-next-line no-control-regex -- as above
export const MULTI_LINE_TEXT = /^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*(?![\s\S])/;

/**
 * Every string a caller sends that is not an id, an enum, a date or an e-mail address: names,
 * address lines, reasons, comments, carrier scans, opaque tokens. At most `max` characters and no
 * control characters (tab, line feed and carriage return are allowed in `multiline` text: return
 * comments and inventory notes). The rule is a zod `regex`, so the OpenAPI document states it as
 * the field's `pattern` and a violation is a 400 naming the field. Length and characters are
 * checked before any `.trim()` a caller chains on, so what the document calls too long is refused.
 */
export function freeText(max: number, { multiline = false }: { multiline?: boolean } = {}) {
  return multiline
    ? z.string().max(max).regex(MULTI_LINE_TEXT, 'must not contain control characters other than tab and line breaks')
    : z.string().max(max).regex(SINGLE_LINE_TEXT, 'must not contain control characters');
}

const id = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, "_", "-" and "." only');

export const channels = ['web', 'marketplace', 'social', 'phone'] as const;
export const shippingSpeeds = ['standard', 'expedited', 'overnight'] as const;

export const OrderLineRequest = z.strictObject({
  sku: id,
  quantity: z.number().int().min(1).max(100),
});

/** 1 to 50 lines, one per sku. */
const orderLines = z
  .array(OrderLineRequest)
  .min(1)
  .max(50)
  .superRefine((items, ctx) => {
    const seen = new Set<string>();
    items.forEach((item, index) => {
      if (seen.has(item.sku)) {
        ctx.addIssue({
          code: 'custom',
          path: [index, 'sku'],
          message: `sku ${item.sku} appears twice; use one line with the total quantity`,
        });
      }
      seen.add(item.sku);
    });
  });

export const ShippingAddress = z.strictObject({
  name: freeText(200).trim().min(1),
  line1: freeText(200).trim().min(1),
  line2: freeText(200).trim().optional(),
  city: freeText(100).trim().min(1),
  region: freeText(100).trim().min(1),
  postalCode: freeText(20).trim().min(1),
  country: z
    .string()
    .length(2)
    .regex(/^[A-Z]{2}$/, 'ISO 3166-1 alpha-2 code in capitals, e.g. "US"'),
});

export const CreateOrderRequest = z.strictObject({
  orderId: id,
  customer: z.strictObject({
    id,
    email: z.email().max(254),
    name: freeText(200).trim().min(1),
    /** A `vip` customer's orders are high priority (domain/priority.ts). Absent: standard. */
    tier: z.enum(customerTiers).optional(),
  }),
  channel: z.enum(channels),
  items: orderLines,
  shippingAddress: ShippingAddress,
  shippingSpeed: z.enum(shippingSpeeds),
  payment: z.strictObject({ token: freeText(200).min(1) }),
  /** When no warehouse can ship the whole order now: wait for a restock, or reject at once. Default from configuration. */
  backorderPolicy: z.enum(['wait', 'reject']).optional(),
});

export type CreateOrderRequest = z.infer<typeof CreateOrderRequest>;
export type ShippingAddress = z.infer<typeof ShippingAddress>;
export type Channel = (typeof channels)[number];
export type ShippingSpeed = (typeof shippingSpeeds)[number];

export const ListOrdersQuery = z.strictObject({
  status: z.string().optional(),
  customerId: freeText(64).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: freeText(200).optional(),
});

export const warehouseEventTypes = ['pick_completed', 'pack_completed'] as const;

/**
 * What a warehouse management system reports when a task it was given is done. A batch pick of a
 * wave is answered per shipment: `waveId` and `shipmentId` say which (the event goes to the wave).
 */
export const WarehouseEvent = z.strictObject({
  taskId: freeText(100).min(1),
  orderId: id,
  waveId: id.optional(),
  shipmentId: id.optional(),
  type: z.enum(warehouseEventTypes),
  at: z.iso.datetime({ offset: true }),
  /** Pack only: what the scale read for the closed box, in grams. */
  measuredWeightGrams: z.number().int().min(1).max(1_000_000).optional(),
  /** Pick only: units the picker could not take (not on the shelf, or damaged). */
  shortages: z
    .array(
      z.strictObject({ sku: id, quantity: z.number().int().min(1).max(100), reason: z.enum(['missing', 'damaged']) }),
    )
    .max(50)
    .optional(),
});
export type WarehouseEvent = z.infer<typeof WarehouseEvent>;

export const carrierEventTypes = [
  'in_transit',
  'out_for_delivery',
  'delivered',
  'delivery_failed',
  'exception',
] as const;

/** What a carrier's tracking webhook sends. */
export const CarrierEvent = z.strictObject({
  trackingNumber: freeText(64).min(1),
  type: z.enum(carrierEventTypes),
  at: z.iso.datetime({ offset: true }),
  location: freeText(200).optional(),
  detail: freeText(500).optional(),
});
export type CarrierEvent = z.infer<typeof CarrierEvent>;

/** `monitoring` may only read `/metrics` (what Prometheus holds). */
export const roles = ['service', 'support', 'warehouse', 'admin', 'monitoring'] as const;
export type Role = (typeof roles)[number];

/** Who asked for something, as the API authenticated them. */
export interface Actor {
  id: string;
  role: Role;
}

export const CancelOrderRequest = z.strictObject({
  reason: freeText(500).trim().min(1),
});
export type CancelOrderRequest = z.infer<typeof CancelOrderRequest>;

export const adjustmentReasons = ['restock', 'cycle_count', 'damaged', 'found', 'lost'] as const;

export const InventoryAdjustment = z.strictObject({
  warehouseId: id,
  sku: id,
  delta: z
    .number()
    .int()
    .min(-100_000)
    .max(100_000)
    .refine((delta) => delta !== 0, 'must not be 0'),
  reason: z.enum(adjustmentReasons),
  note: freeText(500, { multiline: true }).optional(),
});
export type InventoryAdjustment = z.infer<typeof InventoryAdjustment>;

export const CreateReturnRequest = z.strictObject({
  items: orderLines,
  reason: z.enum(returnReasons),
  comment: freeText(1000, { multiline: true }).trim().optional(),
});
export type CreateReturnRequest = z.infer<typeof CreateReturnRequest>;

/** What the warehouse found in a returned parcel, per sku and condition. */
export const ReturnReceipt = z.strictObject({
  units: z
    .array(
      z.strictObject({
        sku: id,
        quantity: z.number().int().min(1).max(100),
        condition: z.enum(['resalable', 'damaged']),
      }),
    )
    .min(1)
    .max(100),
  at: z.iso.datetime({ offset: true }).optional(),
});
export type ReturnReceipt = z.infer<typeof ReturnReceipt>;

export const ReturnsReportQuery = z.strictObject({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
});
