import { z } from 'zod';
import { type ApiKey, firstKeyFor, parseApiKeys } from '../platform/credentials.js';
import { durationMs } from '../domain/durations.js';

/**
 * The one place that reads `process.env`. Every name here is part of the contract (README);
 * defaults are right for production and overridable for demos and tests.
 */
const duration = z.string().refine((value) => {
  try {
    durationMs(value);
    return true;
  } catch {
    return false;
  }
}, 'a duration such as 20s, 30m or 30d');

/** `Boolean('false') === true`, so booleans are parsed by name. */
const flag = z.enum(['true', 'false', '1', '0']).transform((value) => value === 'true' || value === '1');

/** `API_KEYS` as entries; an invalid entry is reported by position, never echoed (it holds a key). */
const apiKeys = z
  .string()
  .optional()
  .transform((text, ctx): ApiKey[] => {
    try {
      return parseApiKeys(text ?? '');
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });

const Env = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** Unset: the start command and the tests run an embedded Postgres. */
  DATABASE_URL: z.url().optional(),
  /** Unset: the start command runs a local Temporal dev server on 127.0.0.1:7233. */
  TEMPORAL_ADDRESS: z.string().min(1).optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  CANCELLATION_BUFFER: duration.default('30m'),
  RETURN_WINDOW: duration.default('30d'),
  WAREHOUSE_TASK_SLA: duration.default('4h'),
  WAREHOUSE_TASK_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
  DELIVERY_GRACE: duration.default('2d'),
  /** When no warehouse can ship a whole order: `wait` for a restock (up to BACKORDER_WAIT) or `reject` it. */
  BACKORDER_POLICY: z.enum(['wait', 'reject']).default('wait'),
  BACKORDER_WAIT: duration.default('7d'),
  /** How often a backordered order tries to reserve again even when no restock was signalled. */
  BACKORDER_RETRY_INTERVAL: duration.default('1h'),
  /** How long the carrier has after a delivery exception before the policy reships or refunds. */
  DELIVERY_EXCEPTION_WAIT: duration.default('3d'),
  /** What a lost parcel gets after DELIVERY_EXCEPTION_WAIT: `reship` from stock or `refund`. */
  DELIVERY_EXCEPTION_POLICY: z.enum(['reship', 'refund']).default('reship'),
  /** How long a return authorization waits for the customer's parcel before it expires. */
  RETURN_SHIPPING_WINDOW: duration.default('14d'),
  /** When the customer is asked for feedback, after delivery. */
  FEEDBACK_DELAY: duration.default('7d'),
  /**
   * Activities one worker runs at once. The worker's database pool is sized from it
   * (`workerDatabasePoolSize`): an activity holds at most one connection at a time, so with a
   * connection for each of them no activity ever waits for the pool, whatever the load.
   */
  WORKER_ACTIVITY_CONCURRENCY: z.coerce.number().int().min(1).max(200).default(20),
  /** 1 = realistic delays of the simulated payment gateway, warehouse and carriers; 0 = they answer at once. */
  SIM_DELAY_SCALE: z.coerce.number().min(0).max(100).default(1),
  /** Where the simulated warehouse and carriers deliver their events: this system's own API. */
  SIMULATOR_CALLBACK_URL: z.url().optional(),
  /** Run the built-in simulators for the payment gateway, warehouse and carriers. */
  SIMULATORS: flag.default(true),
  /**
   * API credentials: comma-separated `key:role` or `name=key:role` (or `name=sha256:<hex>:role`);
   * roles service, support, warehouse, admin. The API refuses to start without one; `npm start`
   * generates a key per role for local development.
   */
  API_KEYS: apiKeys,
  /** Shared secret carriers sign their webhooks with (HMAC-SHA256); at least 32 characters. */
  CARRIER_WEBHOOK_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  /** The key the simulated warehouse calls the API with; unset: the first `warehouse` key in API_KEYS. */
  SIMULATOR_API_KEY: z.string().min(16).max(200).optional(),
  /** How often the `reconcile-orders` Schedule sweeps for orders whose workflow was terminated or is gone. */
  RECONCILE_EVERY: duration.default('10m'),
  /** How long such an order (and its workflow's close) must be quiet before the reconciler releases what it holds. */
  RECONCILE_GRACE: duration.default('5m'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = z.infer<typeof Env>;

/**
 * Connections the worker's pool keeps beyond one per concurrent activity: the simulators' delivery
 * loop holds one while it claims due deliveries, and one is spare so a slow shutdown or a stray
 * query never makes an activity wait.
 */
export const WORKER_POOL_RESERVE = 2;

/**
 * The worker's database pool: one connection per activity it may run at once, plus the reserve.
 * Each activity's queries run one after another (a transaction pins one connection), so an
 * activity never needs two; a pool any smaller makes activities queue for a connection under load,
 * their start-to-close timeout runs out while they wait, and Temporal starts duplicate attempts.
 */
export function workerDatabasePoolSize(settings: Pick<Config, 'WORKER_ACTIVITY_CONCURRENCY'>): number {
  return settings.WORKER_ACTIVITY_CONCURRENCY + WORKER_POOL_RESERVE;
}

export function parseConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // The simulated warehouse needs a key in plain text; by default the first warehouse key configured.
  const parsed = Env.safeParse({ ...env, SIMULATOR_API_KEY: env.SIMULATOR_API_KEY || firstKeyFor(env.API_KEYS, 'warehouse') });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`).join('\n');
    throw new Error(`Invalid configuration:\n${problems}`);
  }
  return parsed.data;
}

let cached: Config | undefined;

/** The process's configuration, parsed once; exits with the offending variables when invalid. */
export function config(): Config {
  if (!cached) {
    try {
      cached = parseConfig();
    } catch (error) {
      process.stderr.write(`${(error as Error).message}\n`);
      process.exit(1);
    }
  }
  return cached;
}
