import { PARTIAL_FULFILLMENT_POLICIES } from '../domain/allocation.js';
import { z } from 'zod';
import { type ApiKey, firstKeyFor, parseApiKeys } from '../platform/credentials.js';
import { durationMs } from '../domain/durations.js';

/**
 * The one place that reads `process.env`. Every name here is part of the contract (docs/configuration.md);
 * defaults are right for production and overridable for demos and tests.
 */
const duration = z
  .string()
  .refine((value) => {
    try {
      durationMs(value);
      return true;
    } catch {
      return false;
    }
  }, 'a duration such as 20s, 30m or 30d')
  .meta({ format: 'duration' });

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

/**
 * Every setting, with what it means in `.describe()`: docs/configuration.md is generated from this
 * schema (`npm run docs:config`), and a test fails when the two disagree.
 */
export const Env = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000).describe('The port the API listens on.'),
  DATABASE_URL: z
    .url()
    .optional()
    .describe(
      'Postgres connection URL. Required by the worker and the API; unset, `npm start` and the tests run an embedded Postgres.',
    ),
  TEMPORAL_ADDRESS: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Temporal frontend (`host:port`). Unset: `npm start` runs a local Temporal dev server, and the worker and API connect to `127.0.0.1:7233`.',
    ),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default').describe('The Temporal namespace orders run in.'),
  CANCELLATION_BUFFER: duration
    .default('30m')
    .describe('The free-cancel window after receipt: nothing is captured or picked before it ends.'),
  RETURN_WINDOW: duration.default('30d').describe('How long after delivery a return may be opened.'),
  WAREHOUSE_TASK_SLA: duration.default('4h').describe('The time the warehouse has for one pick or pack.'),
  WAREHOUSE_TASK_ATTEMPTS: z.coerce
    .number()
    .int()
    .min(1)
    .max(10)
    .default(3)
    .describe('How many times a warehouse task is asked for before the order needs attention.'),
  DELIVERY_GRACE: duration
    .default('2d')
    .describe("Time past the carrier's promise before a delivery counts as late (a delivery exception)."),
  BACKORDER_POLICY: z
    .enum(['wait', 'reject'])
    .default('wait')
    .describe(
      'When no warehouse can ship a whole order: `wait` for a restock (up to `BACKORDER_WAIT`) or `reject` it. An order may set its own.',
    ),
  PARTIAL_FULFILLMENT: z
    .enum(PARTIAL_FULFILLMENT_POLICIES)
    .default('ship_available')
    .describe(
      'When the warehouses together cannot ship the whole order now: `ship_available` ships what is in stock (split across warehouses if need be) and backorders the rest as a later shipment, `wait_complete` waits for all of it (`BACKORDER_WAIT`), `reject` rejects the order.',
    ),
  BACKORDER_WAIT: duration
    .default('7d')
    .describe('How long a backordered order waits before it is cancelled, nothing charged.'),
  BACKORDER_RETRY_INTERVAL: duration
    .default('1h')
    .describe('How often a backordered order tries to reserve again even when no restock was signalled.'),
  DELIVERY_EXCEPTION_WAIT: duration
    .default('3d')
    .describe(
      'How long the carrier has to trace a parcel after a delivery exception before the policy reships or refunds.',
    ),
  DELIVERY_EXCEPTION_POLICY: z
    .enum(['reship', 'refund'])
    .default('reship')
    .describe('What a lost parcel gets after `DELIVERY_EXCEPTION_WAIT`: `reship` from stock or `refund`.'),
  RETURN_SHIPPING_WINDOW: duration
    .default('14d')
    .describe("How long a return authorization waits for the customer's parcel before it expires."),
  FEEDBACK_DELAY: duration.default('7d').describe('When the customer is asked for feedback, after delivery.'),
  WORKER_ACTIVITY_CONCURRENCY: z.coerce
    .number()
    .int()
    .min(1)
    .max(200)
    .default(20)
    .describe(
      "Activities one worker runs at once. The worker's database pool is this plus 2 (an activity holds at most one connection; one is for the simulators' delivery loop, one spare), so no activity ever waits for a connection.",
    ),
  SIM_DELAY_SCALE: z.coerce
    .number()
    .min(0)
    .max(100)
    .default(1)
    .describe(
      '1 = realistic delays of the simulated payment gateway, warehouse and carriers; 0 = they answer at once.',
    ),
  SIMULATOR_CALLBACK_URL: z
    .url()
    .optional()
    .describe(
      "Where the simulated warehouse and carriers deliver their events: this system's own API. Unset: `http://127.0.0.1:<PORT>`.",
    ),
  SIMULATORS: flag
    .default(true)
    .describe(
      "Send the simulated warehouse's and carriers' events to the API from the worker. The worker's payment gateway, warehouse and carriers are the simulators either way; `false` only stops their callbacks.",
    ),
  API_KEYS: apiKeys.describe(
    'API credentials, comma-separated: `key:role`, `name=key:role` or `name=sha256:<hex digest of the key>:role`; roles `service`, `support`, `warehouse`, `admin`, `monitoring` (reads `/metrics` only). The API refuses to start without one; `npm start` generates a key per role for local development.',
  ),
  CARRIER_WEBHOOK_SECRET: z
    .string()
    .min(32, 'at least 32 characters')
    .optional()
    .describe(
      'Shared secret carriers sign their webhooks with (HMAC-SHA256). Required by the API, and by the worker when `SIMULATORS` is on; `npm start` generates one.',
    ),
  SIMULATOR_API_KEY: z
    .string()
    .min(16)
    .max(200)
    .optional()
    .describe('The key the simulated warehouse calls the API with. Unset: the first `warehouse` key in `API_KEYS`.'),
  RECONCILE_EVERY: duration
    .default('10m')
    .describe('How often the `reconcile-orders` Schedule sweeps for orders whose workflow was terminated or is gone.'),
  RECONCILE_GRACE: duration
    .default('5m')
    .describe(
      "How long such an order (and its workflow's close) must be quiet before the reconciler releases what it holds.",
    ),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('The least severe level logged; `silent` logs nothing.'),
  WORKER_METRICS_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(9464)
    .describe(
      "Port of the worker's Prometheus endpoint (`/metrics`): the SDK's `temporal_*` metrics and the business counters. Two workers on one host need two ports.",
    ),
  WORKER_METRICS_HOST: z
    .string()
    .min(1)
    .default('0.0.0.0')
    .describe("Address the worker's Prometheus endpoint binds to."),
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .url()
    .optional()
    .describe(
      'OpenTelemetry collector base URL (OTLP/HTTP; traces go to `<url>/v1/traces`). Unset, with no traces endpoint either: tracing is off. Headers and timeouts: the other standard `OTEL_EXPORTER_OTLP_*` variables.',
    ),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z
    .url()
    .optional()
    .describe('OTLP/HTTP traces endpoint, full URL; wins over `OTEL_EXPORTER_OTLP_ENDPOINT`.'),
  OTEL_TRACES_EXPORTER: z.string().optional().describe('`none` turns tracing off even with an endpoint set.'),
  OTEL_SERVICE_NAME: z
    .string()
    .min(1)
    .optional()
    .describe('`service.name` of the spans. Unset: `orders-api` for the API, `orders-worker` for a worker.'),
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
  const parsed = Env.safeParse({
    ...env,
    SIMULATOR_API_KEY: env.SIMULATOR_API_KEY || firstKeyFor(env.API_KEYS, 'warehouse'),
  });
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
