import { Context } from '@temporalio/activity';

/**
 * The business counters the worker exports beside the SDK's own `temporal_*` metrics. They go
 * through the activity's `metricMeter`, which writes to the same Prometheus exporter the worker's
 * Runtime serves on WORKER_METRICS_PORT (one endpoint per process; a second registry would need a
 * second port), tagged by the SDK with namespace, task queue and activity type. Counted where the
 * effect happens, after it is recorded, so a retried or replayed step counts once.
 */
export const BUSINESS_COUNTERS = {
  order_captures: 'Payments captured.',
  order_refunds: 'Refunds paid (a cancel, a return, a reship that gives money back).',
  order_reships: 'Replacement shipments whose label was bought (shipment 2 and on).',
  orders_parked: 'Orders that entered needs_attention.',
  oversell_refused:
    'Stock reservations refused because a warehouse lacked the units (the guard against overselling held).',
} as const;

export type BusinessCounter = keyof typeof BUSINESS_COUNTERS;

/** Adds one to a business counter; outside an activity (a direct unit test), nothing. */
export function countBusinessEvent(name: BusinessCounter, tags: Record<string, string> = {}): void {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return;
  }
  context.metricMeter.createCounter(name, '1', BUSINESS_COUNTERS[name]).add(1, tags);
}

/**
 * Every business counter at zero from the worker's start (from the Runtime's meter), so a rate or
 * an alert has a series before the first event; an activity's increments carry its own tags.
 */
export function registerBusinessCounters(meter: Pick<Context['metricMeter'], 'createCounter'>): void {
  for (const [name, description] of Object.entries(BUSINESS_COUNTERS))
    meter.createCounter(name, '1', description).add(0);
}
