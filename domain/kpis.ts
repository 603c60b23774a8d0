import { z } from 'zod';
import { channels, freeText } from './schemas.js';
import { ORDER_STATUSES } from './statuses.js';

/**
 * The operations KPIs (`GET /reports/kpis`, the dashboard): the query, the report and each
 * figure's definition. The definitions here are the ones in the OpenAPI document; docs/kpis.md
 * says the same at length. Every figure is over a cohort: the orders placed in [from, to) (and in
 * the channel / at the warehouse asked for), followed to what has happened to them so far.
 */

export const KPI_GRANULARITIES = ['day', 'week'] as const;
export type KpiGranularity = (typeof KPI_GRANULARITIES)[number];

/** Days a report may span at most. */
export const KPI_MAX_RANGE_DAYS = 366;
/** The range when `from` is not given: the 30 days before `to`. */
export const KPI_DEFAULT_RANGE_DAYS = 30;

/** The order events that end an order as cancelled (status `cancelled`), by stage. */
export const CANCELLATION_STAGES = ['in_buffer', 'after_capture', 'late', 'backorder_expired'] as const;

/** What the business aims for; the dashboard shows each figure against its target. */
export const KPI_TARGETS = {
  orderAccuracy: { target: 0.99, better: 'higher' },
  pickingAccuracy: { target: 0.995, better: 'higher' },
  perfectOrderRate: { target: 0.95, better: 'higher' },
  onTimeDeliveryRate: { target: 0.95, better: 'higher' },
  cancellationRate: { target: 0.03, better: 'lower' },
  returnRate: { target: 0.08, better: 'lower' },
  exceptionsPer100: { target: 2, better: 'lower' },
  reshipsPer100: { target: 1, better: 'lower' },
  processingHoursP90: { target: 24, better: 'lower' },
  leadTimeHoursP90: { target: 96, better: 'lower' },
} as const;

/** A name the time zone database knows (`UTC`, `Europe/Berlin`, `America/New_York`). */
export function isTimeZone(name: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/.test(name)) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const instant = z.iso.datetime({ offset: true });

export const KpisQuery = z.strictObject({
  from: instant.optional().meta({
    description: `Start of the range (inclusive), an instant with an offset. Default: ${KPI_DEFAULT_RANGE_DAYS} days before \`to\`.`,
    example: '2026-11-01T00:00:00Z',
  }),
  to: instant.optional().meta({
    description: `End of the range (exclusive). Default: now. At most ${KPI_MAX_RANGE_DAYS} days after \`from\`.`,
    example: '2026-12-01T00:00:00Z',
  }),
  channel: z.enum(channels).optional().meta({ description: 'Only orders placed in this sales channel.' }),
  warehouseId: freeText(64)
    .min(1)
    .optional()
    .meta({ description: 'Only orders allocated to this warehouse (an unknown one is a 400).', example: 'wh-east' }),
  granularity: z
    .enum(KPI_GRANULARITIES)
    .default('day')
    .meta({ description: 'Bucket size of `series`: calendar days or ISO weeks (Monday first) in `tz`.' }),
  tz: freeText(64)
    .refine(isTimeZone, 'must be an IANA time zone, e.g. UTC or Europe/Berlin')
    .default('UTC')
    .meta({ description: 'Time zone of the buckets’ boundaries.', example: 'UTC' }),
});
export type KpisQuery = z.infer<typeof KpisQuery>;

const rate = (description: string) =>
  z
    .number()
    .min(0)
    .max(1)
    .nullable()
    .meta({ description: `${description} A fraction 0–1; null when the denominator is 0.` });
const count = (description: string) => z.number().int().min(0).meta({ description });
const per100 = (description: string) =>
  z
    .number()
    .min(0)
    .nullable()
    .meta({ description: `${description} Null when no order shipped.` });
const hours = (description: string) =>
  z.object({ mean: z.number().nullable(), p50: z.number().nullable(), p90: z.number().nullable() }).meta({
    description: `${description} Hours: mean, median (p50) and 90th percentile (continuous); null when no order got that far.`,
  });

/** The figures for one cohort (the whole range, or one bucket of `series`). */
export const KpiFigures = z.object({
  placed: count('Orders placed (received by the API) in the range.'),
  shipped: count('Of those, orders handed to the carrier (a `shipped` timeline event).'),
  delivered: count('Of those, orders the carrier delivered (a `delivered` event).'),
  cancelled: count(
    'Of those, orders cancelled: by the customer or support (`order_cancelled`), an expired backorder (`backorder_expired`) or a lost parcel refunded (`parcel_lost_refunded`).',
  ),
  returned: count('Of those, orders with at least one return that did not expire.'),
  cancellationRate: rate('cancelled / placed.'),
  orderAccuracy: rate('(shipped − shipped orders with a `wrong_item` return) / shipped.'),
  pickingAccuracy: rate(
    '(picked − picked orders with a `wrong_item` return or a pick the warehouse check rejected, `pick_rejected`) / picked; picked = orders with a `picked` event.',
  ),
  perfectOrderRate: rate(
    'Perfect orders / orders whose delivery is settled (delivered, or a delivery exception). Perfect: delivered by the first shipment’s promised date, no short pick and no reship (every unit in the planned parcel), no delivery exception, no `damaged` or `wrong_item` return.',
  ),
  onTimeDeliveryRate: rate('Delivered orders delivered by the first shipment’s `promisedBy` / delivered orders.'),
  exceptionsPer100: per100(
    'Shipped orders that had a delivery exception (`delivery_exception` or `returned_to_sender` event) per 100 shipped orders.',
  ),
  reshipsPer100: per100('Reships (`reship_started` events) per 100 shipped orders.'),
  returnRate: rate(
    'Units returned / units sold. Sold: units of shipped orders. Returned: units that came back (as received), or asked for while the return is open; expired returns left out.',
  ),
  processingHours: hours('Processing time: placed → handed to the carrier (`shipped` event), over shipped orders.'),
  leadTimeHours: hours('Order lead time: placed → delivered, over delivered orders.'),
});
export type KpiFigures = z.infer<typeof KpiFigures>;

const targetSchema = z.object({ target: z.number(), better: z.enum(['higher', 'lower']) });

export const KpiReport = z
  .object({
    range: z.object({
      from: instant,
      to: instant,
      granularity: z.enum(KPI_GRANULARITIES),
      tz: z.string(),
      channel: z.enum(channels).nullable(),
      warehouseId: z.string().nullable(),
    }),
    generatedAt: instant,
    currency: z
      .string()
      .nullable()
      .meta({ description: 'Currency of `refunded` (minor units); null when nothing was sold.' }),
    targets: z
      .record(z.string(), targetSchema)
      .meta({ description: 'What each figure aims for; `p90` targets apply to the hours’ 90th percentile.' }),
    totals: KpiFigures,
    cancellations: z.object({
      byStage: z.array(z.object({ stage: z.enum(CANCELLATION_STAGES), orders: z.number().int() })).meta({
        description:
          'in_buffer: cancelled before the payment was captured (free); after_capture: after capture, before the parcel left; late: after it left (a lost parcel refunded); backorder_expired: no stock arrived in time.',
      }),
      byReason: z.array(z.object({ reason: z.string(), orders: z.number().int() })).meta({
        description:
          'The canceller’s reason (trimmed, lower case), or `backorder expired` / `parcel lost`; the 10 most common.',
      }),
    }),
    returns: z.object({
      unitsSold: z.number().int(),
      unitsReturned: z.number().int(),
      rate: rate('unitsReturned / unitsSold.'),
      refunded: z.number().int().meta({ description: 'Minor units refunded for returns of the cohort’s orders.' }),
      byReason: z.array(
        z.object({
          reason: z.string(),
          returns: z.number().int(),
          units: z.number().int(),
          rate: z.number().nullable(),
          refunded: z.number().int(),
        }),
      ),
      bySku: z
        .array(
          z.object({
            sku: z.string(),
            unitsSold: z.number().int(),
            unitsReturned: z.number().int(),
            rate: z.number().nullable(),
          }),
        )
        .meta({ description: 'Skus with returns or sales, most units returned first; at most 20.' }),
    }),
    open: z.object({
      byStatus: z.array(z.object({ status: z.enum(ORDER_STATUSES), orders: z.number().int() })).meta({
        description:
          'Orders not in a final status now, whenever placed (the channel and warehouse filters apply, the range does not).',
      }),
      needsAttention: z
        .array(
          z.object({
            orderId: z.string(),
            workflowId: z.string(),
            reason: z.string().nullable(),
            since: instant,
            ageHours: z.number(),
          }),
        )
        .meta({
          description:
            'Orders in `needs_attention` now, oldest first (at most 50): why, since when (their latest `needs_attention` event).',
        }),
      needsAttentionCount: z.number().int(),
      backorders: z.object({
        waiting: z.number().int(),
        oldestSince: instant.nullable(),
        oldestAgeHours: z.number().nullable(),
      }),
    }),
    series: z
      .array(
        KpiFigures.extend({
          bucket: z.string().meta({ description: 'The bucket’s first day in `tz`, YYYY-MM-DD.' }),
          start: instant,
        }),
      )
      .meta({
        description:
          'The same figures per bucket (orders by the bucket they were placed in); every bucket of the range, empty ones included.',
      }),
  })
  .meta({ id: 'KpiReport' });
export type KpiReport = z.infer<typeof KpiReport>;
