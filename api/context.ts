import type { Client } from '@temporalio/client';
import type { Database } from '../db/client.js';
import type { OrderPolicy } from '../domain/order.js';
import type { AuthSettings } from './http/auth.js';
import type { CodecSettings } from './operations/codec.js';
import type { ApiMetrics } from './operations/metrics.js';

/** What the API's routes need; the server wires real ones, tests their own. */
export interface ApiContext {
  db: Database;
  temporal: Client;
  /** API keys and the carrier webhook secret (from configuration). */
  auth: AuthSettings;
  /** The payload codec `/codec/*` applies (the Temporal client's) and the Temporal Web origins it answers. */
  codec?: CodecSettings;
  /** The policy new orders are placed under (from configuration). */
  orderPolicy: OrderPolicy;
  /** Milliseconds a request may wait on Temporal before it answers 503. */
  temporalDeadlineMs?: number;
  /** Milliseconds a workflow update (cancel, retry, return) may wait: longer, as compensations and labels take a while. */
  temporalUpdateDeadlineMs?: number;
  now?: () => Date;
  /** Prometheus metrics served at `/metrics`; unset, the app makes its own (over `db`). */
  metrics?: ApiMetrics;
  log: { error: (error: unknown, message: string) => void; info: (fields: object, message: string) => void };
}

/** Runs a Temporal call with a deadline, so a request never hangs on an unreachable server. */
export function withTemporalDeadline<T>(
  context: ApiContext,
  call: () => Promise<T>,
  deadlineMs = context.temporalDeadlineMs ?? 5_000,
): Promise<T> {
  return context.temporal.withDeadline(Date.now() + deadlineMs, call);
}

/** Runs a workflow update with the update deadline (api/context.ts `temporalUpdateDeadlineMs`, 30 s unless set). */
export function withUpdateDeadline<T>(context: ApiContext, call: () => Promise<T>): Promise<T> {
  return withTemporalDeadline(context, call, context.temporalUpdateDeadlineMs ?? 30_000);
}
