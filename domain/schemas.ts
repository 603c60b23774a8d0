import { z } from 'zod';
import { returnReasons } from './returns.js';

/**
 * Request contracts at the API boundary. Strict: an unknown field is an error, not silently dropped.
 */

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
        ctx.addIssue({ code: 'custom', path: [index, 'sku'], message: `sku ${item.sku} appears twice; use one line with the total quantity` });
      }
      seen.add(item.sku);
    });
  });

export const ShippingAddress = z.strictObject({
  name: z.string().trim().min(1).max(200),
  line1: z.string().trim().min(1).max(200),
  line2: z.string().trim().max(200).optional(),
  city: z.string().trim().min(1).max(100),
  region: z.string().trim().min(1).max(100),
  postalCode: z.string().trim().min(1).max(20),
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
    name: z.string().trim().min(1).max(200),
  }),
  channel: z.enum(channels),
  items: orderLines,
  shippingAddress: ShippingAddress,
  shippingSpeed: z.enum(shippingSpeeds),
  payment: z.strictObject({ token: z.string().min(1).max(200) }),
  /** When no warehouse can ship the whole order now: wait for a restock, or reject at once. Default from configuration. */
  backorderPolicy: z.enum(['wait', 'reject']).optional(),
});

export type CreateOrderRequest = z.infer<typeof CreateOrderRequest>;
export type ShippingAddress = z.infer<typeof ShippingAddress>;
export type Channel = (typeof channels)[number];
export type ShippingSpeed = (typeof shippingSpeeds)[number];

export const ListOrdersQuery = z.strictObject({
  status: z.string().optional(),
  customerId: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
});

export const warehouseEventTypes = ['pick_completed', 'pack_completed'] as const;

/** What a warehouse management system reports when a task it was given is done. */
export const WarehouseEvent = z.strictObject({
  taskId: z.string().min(1).max(100),
  orderId: id,
  type: z.enum(warehouseEventTypes),
  at: z.iso.datetime({ offset: true }),
  /** Pack only: what the scale read for the closed box, in grams. */
  measuredWeightGrams: z.number().int().min(1).max(1_000_000).optional(),
  /** Pick only: units the picker could not take (not on the shelf, or damaged). */
  shortages: z
    .array(z.strictObject({ sku: id, quantity: z.number().int().min(1).max(100), reason: z.enum(['missing', 'damaged']) }))
    .max(50)
    .optional(),
});
export type WarehouseEvent = z.infer<typeof WarehouseEvent>;

export const carrierEventTypes = ['in_transit', 'out_for_delivery', 'delivered', 'delivery_failed', 'exception'] as const;

/** What a carrier's tracking webhook sends. */
export const CarrierEvent = z.strictObject({
  trackingNumber: z.string().min(1).max(64),
  type: z.enum(carrierEventTypes),
  at: z.iso.datetime({ offset: true }),
  location: z.string().max(200).optional(),
  detail: z.string().max(500).optional(),
});
export type CarrierEvent = z.infer<typeof CarrierEvent>;

export const roles = ['service', 'support', 'warehouse', 'admin'] as const;
export type Role = (typeof roles)[number];

/** Who asked for something, as the API authenticated them. */
export interface Actor {
  id: string;
  role: Role;
}

export const CancelOrderRequest = z.strictObject({
  reason: z.string().trim().min(1).max(500),
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
  note: z.string().max(500).optional(),
});
export type InventoryAdjustment = z.infer<typeof InventoryAdjustment>;

export const CreateReturnRequest = z.strictObject({
  items: orderLines,
  reason: z.enum(returnReasons),
  comment: z.string().trim().max(1000).optional(),
});
export type CreateReturnRequest = z.infer<typeof CreateReturnRequest>;



/** What the warehouse found in a returned parcel, per sku and condition. */
export const ReturnReceipt = z.strictObject({
  units: z
    .array(z.strictObject({ sku: id, quantity: z.number().int().min(1).max(100), condition: z.enum(['resalable', 'damaged']) }))
    .min(1)
    .max(100),
  at: z.iso.datetime({ offset: true }).optional(),
});
export type ReturnReceipt = z.infer<typeof ReturnReceipt>;

export const ReturnsReportQuery = z.strictObject({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
});
