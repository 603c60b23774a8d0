import { PARTIAL_FULFILLMENT_POLICIES } from '../domain/allocation.js';
import { z } from 'zod';
import { type ApiKey, firstKeyFor, parseApiKeys } from '../platform/credentials.js';
import { durationMs } from '../domain/durations.js';
import { type EncryptionKey, parseEncryptionKeys } from '../platform/payload-codec.js';
import { parseCarrierCutoffs, type WavePolicy } from '../domain/waves.js';

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

/** `PAYLOAD_ENCRYPTION_KEYS` as keys; an invalid entry is reported by position, never echoed. */
const encryptionKeys = z
  .string()
  .optional()
  .transform((text, ctx): EncryptionKey[] => {
    try {
      return parseEncryptionKeys(text ?? '');
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
      'Temporal frontend (`host:port`), e.g. `<namespace>.<account>.tmprl.cloud:7233`. Unset (and not in the TOML profile): `npm start` runs a local Temporal dev server and every process connects to it. See `TEMPORAL_PROFILE` for the rest of Temporal’s own environment configuration.',
    ),
  TEMPORAL_NAMESPACE: z
    .string()
    .min(1)
    .optional()
    .describe('The Temporal namespace orders run in. Unset (and not in the TOML profile): `default`.'),
  TEMPORAL_API_KEY: z
    .string()
    .min(1)
    .optional()
    .describe(
      'API key for Temporal Cloud (or a cluster that takes one). Turns TLS on unless `TEMPORAL_TLS` says otherwise.',
    ),
  TEMPORAL_TLS: flag
    .optional()
    .describe(
      '`true` connects with TLS (server certificate checked against the system CAs unless a CA is given); `false` forces plain text.',
    ),
  TEMPORAL_TLS_CLIENT_CERT_PATH: z
    .string()
    .min(1)
    .optional()
    .describe('mTLS: the client certificate (PEM) file; needs `TEMPORAL_TLS_CLIENT_KEY_PATH` (or the `_DATA` forms).'),
  TEMPORAL_TLS_CLIENT_KEY_PATH: z.string().min(1).optional().describe('mTLS: the client private key (PEM) file.'),
  TEMPORAL_TLS_CLIENT_CERT_DATA: z
    .string()
    .min(1)
    .optional()
    .describe('mTLS: the client certificate itself (PEM), instead of a path.'),
  TEMPORAL_TLS_CLIENT_KEY_DATA: z
    .string()
    .min(1)
    .optional()
    .describe('mTLS: the client private key itself (PEM), instead of a path.'),
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: z
    .string()
    .min(1)
    .optional()
    .describe('A CA certificate (PEM) file to check the server with, for a self-hosted cluster with its own CA.'),
  TEMPORAL_TLS_SERVER_CA_CERT_DATA: z
    .string()
    .min(1)
    .optional()
    .describe('The server CA certificate itself (PEM), instead of a path.'),
  TEMPORAL_TLS_SERVER_NAME: z
    .string()
    .min(1)
    .optional()
    .describe('The name the server certificate must carry, when it differs from the address’s host.'),
  TEMPORAL_PROFILE: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Profile to read from the Temporal TOML configuration file (`temporal config` writes it); the `TEMPORAL_*` variables above override its fields. Unset: the `default` profile, if the file has one.',
    ),
  TEMPORAL_CONFIG_FILE: z
    .string()
    .min(1)
    .optional()
    .describe(
      'The Temporal TOML configuration file. Unset: `~/.config/temporalio/temporal.toml` (or under `XDG_CONFIG_HOME`), used only if it exists.',
    ),
  PAYLOAD_ENCRYPTION_KEYS: encryptionKeys.describe(
    'Keys that encrypt workflow payloads (customer data in Temporal histories), comma-separated `id:base64key` (32 bytes: `openssl rand -base64 32`). The first encrypts, every one decrypts: rotate by putting a new key first and keeping the old ones while histories need them. Required with `NODE_ENV=production` unless `PAYLOAD_ENCRYPTION=off`; `npm start` generates one.',
  ),
  PAYLOAD_ENCRYPTION: z
    .enum(['on', 'off'])
    .default('on')
    .describe(
      '`off` stores new payloads in clear (keys still given go on decrypting old ones). The only way to run in production without keys.',
    ),
  CODEC_CORS_ORIGINS: z
    .string()
    .default('http://localhost:8233,http://127.0.0.1:8233')
    .transform((text) =>
      text
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    )
    .describe(
      'Browser origins allowed to call `/codec/decode` and `/codec/encode` (Temporal Web’s address), comma-separated.',
    ),
  NODE_ENV: z
    .string()
    .optional()
    .describe('`production` makes missing payload encryption keys an error instead of running unencrypted.'),
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
  HIGH_VALUE_ORDER: z
    .string()
    .regex(/^\d{1,9}(\.\d{1,2})?$/, 'an amount such as 500 or 500.00')
    .default('500.00')
    .transform((amount) => Math.round(Number(amount) * 100))
    .describe(
      "An order whose total (in the order's currency) is at least this is `high` priority: its work is served before `normal` orders' (overnight ones are `urgent`).",
    ),
  WAVE_PICKING: flag
    .default(true)
    .describe(
      "Shipments are picked in their warehouse's waves and labelled in the wave's batch; `false`: each shipment is picked alone and buys its own label (a warehouse without batch picking). Orders keep the setting they were placed under.",
    ),
  WAVE_SIZE: z.coerce
    .number()
    .int()
    .min(1)
    .max(500)
    .default(20)
    .describe(
      'A warehouse releases a wave to the floor once this many shipments wait to be picked; also the most one wave holds.',
    ),
  WAVE_MAX_WAIT: duration
    .default('15m')
    .describe('A wave goes out, however small, once its oldest shipment has waited this long.'),
  CARRIER_CUTOFFS: z
    .string()
    .default('parcelpost=17:00,swiftship=18:00,coastline=17:30')
    .transform((text, ctx): Record<string, string> => {
      try {
        return parseCarrierCutoffs(text);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    })
    .describe(
      "Each carrier's daily pick-up cut-off in the warehouse's local time, `carrier=HH:MM` comma-separated (e.g. `ups=17:00,fedex=18:00`); empty: none. Near a cut-off (`WAVE_CUTOFF_LEAD`) that carrier's shipments go out in a wave whatever their number.",
    ),
  WAVE_CUTOFF_LEAD: duration
    .default('1h')
    .describe(
      "How long before a carrier's cut-off its waiting shipments are released, to be picked and labelled in time.",
    ),
  WAVE_URGENT_ALONE: flag
    .default(true)
    .describe('Urgent shipments go to the floor at once, in a wave of their own, instead of waiting for one to fill.'),
  WORKER_ACTIVITY_CONCURRENCY: z.coerce
    .number()
    .int()
    .min(1)
    .max(200)
    .default(20)
    .describe(
      "Activities one worker runs at once. The worker's database pool is this plus 2 (an activity holds at most one connection; one is for the simulators' delivery loop, one spare), so no activity ever waits for a connection.",
    ),
  WORKER_WORKFLOW_CONCURRENCY: z.coerce
    .number()
    .int()
    .min(2)
    .max(500)
    .default(40)
    .describe(
      'Workflow tasks one worker runs at once (the most workflow slots the resource-based tuner may use). Chosen from `npm run bench` (docs/benchmarks.md).',
    ),
  WORKER_CACHED_WORKFLOWS: z.coerce
    .number()
    .int()
    .min(0)
    .max(100_000)
    .default(500)
    .describe(
      'Workflows one worker keeps in its sticky cache (`maxCachedWorkflows`), so their next task runs without replaying the history; 0 turns the cache off. A cached order costs the worker 0.3–0.4 MB (npm run soak, docs/benchmarks.md#soak); with tracing on several MB, and more the fuller the cache (workers/create-worker.ts says why): trace with a cache of 100 or less. An evicted order only replays.',
    ),
  WORKER_POLLERS: z
    .union([z.literal('autoscaling'), z.coerce.number().int().min(2).max(100)])
    .default('autoscaling')
    .describe(
      '`autoscaling`: the worker adds and drops task polls by what the server says is waiting (1 to 100 each for workflow and activity tasks); a number: at most that many polls each, fixed.',
    ),
  WORKER_TUNER: z
    .enum(['fixed', 'resource-based'])
    .default('fixed')
    .describe(
      '`fixed`: `WORKER_WORKFLOW_CONCURRENCY` and `WORKER_ACTIVITY_CONCURRENCY` slots. `resource-based`: the SDK hands out slots while the host stays under 80 % memory and 90 % CPU, up to those same numbers (so the database pool still fits).',
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
  WORKER_VERSIONING: z
    .enum(['on', 'off'])
    .default('on')
    .describe(
      "Worker deployment versioning: `on`, the worker polls as version `WORKER_BUILD_ID` of deployment `WORKER_DEPLOYMENT_NAME`, gets only the work Temporal routes to that version, and makes itself current when the deployment has no current version yet; rolling out a new build is a ramp, then set-current (docs/operations.md). `off`: an unversioned worker (the tests' own workers).",
    ),
  WORKER_DEPLOYMENT_NAME: z
    .string()
    .min(1)
    .default('order-fulfillment')
    .describe(
      'The worker deployment every order worker belongs to (`temporal worker deployment ... --deployment-name`).',
    ),
  WORKER_BUILD_ID: z
    .string()
    .min(1)
    .max(255)
    .optional()
    .describe(
      "This worker's version within the deployment. Unset: what `npm run build` recorded in `dist/build-id`, else the package version and git revision (`0.1.0+3f2c1a9b7d10`, `.dirty` with uncommitted changes).",
    ),
  WORKER_MAKE_CURRENT: z
    .enum(['when-none', 'always'])
    .default('when-none')
    .describe(
      "With versioning on: `when-none`, a worker makes its build the deployment's current version only when there is none (the first deploy; later builds are ramped and made current by an operator). `always`: every start makes its build current, for topologies that replace every worker at each start (`npm start` on its own dev server and `npm run cluster` set it).",
    ),
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

/** How warehouses release waves, from the settings (each warehouse adds its time zone). */
export function waveSettings(settings: Config): Omit<WavePolicy, 'timeZone'> {
  return {
    waveSize: settings.WAVE_SIZE,
    maxWait: settings.WAVE_MAX_WAIT,
    cutoffs: settings.CARRIER_CUTOFFS,
    cutoffLead: settings.WAVE_CUTOFF_LEAD,
    urgentAlone: settings.WAVE_URGENT_ALONE,
    pickSla: settings.WAREHOUSE_TASK_SLA,
    pickAttempts: settings.WAREHOUSE_TASK_ATTEMPTS,
  };
}

export function parseConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // The simulated warehouse needs a key in plain text; by default the first warehouse key configured.
  const parsed = Env.safeParse({
    ...env,
    SIMULATOR_API_KEY: env.SIMULATOR_API_KEY || firstKeyFor(env.API_KEYS, 'warehouse'),
  });
  if (!parsed.success) {
    throw new ConfigurationError(
      parsed.error.issues.map((issue) => ({ variable: issue.path.join('.'), message: issue.message })),
    );
  }
  return parsed.data;
}

/** Settings that cannot work, each with the variable to fix: the process says so and exits. */
export class ConfigurationError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigurationError';
  }
}

/**
 * Runs a step of reading the configuration; when the configuration is wrong, writes what to fix
 * (never a stack trace) and exits. Any other error is thrown as it is.
 */
export function orExit<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}

let cached: Config | undefined;

/** The process's configuration, parsed once; exits with the offending variables when invalid. */
export function config(): Config {
  cached ??= orExit(() => parseConfig());
  return cached;
}
