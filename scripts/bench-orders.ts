import { cpus } from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { sql } from 'drizzle-orm';
import { parseConfig } from '../config/index.js';
import { checkInvariants } from '../db/invariants.js';
import { waveStats } from '../db/waves.js';
import { type OrderPriority, orderPriorities } from '../domain/priority.js';
import { FINAL_STATUSES } from '../domain/statuses.js';
import { waitFor } from './chaos-topology.js';
import { commandLine } from './args.js';
import {
  actions,
  drive,
  orderBody,
  percentile,
  percentiles,
  postOrder,
  processUsage,
  retrying,
  round,
  startBenchSystem,
} from './bench-system.js';
import { progressBar } from './progress.js';
import { orderCost } from './order-cost.js';

/**
 * `npm run bench`: what an order costs, measured on the topology production runs: Postgres, a
 * Temporal dev server, the API, two workers and the simulators' callbacks, each a process of its
 * own on a free loopback port (scripts/bench-system.ts). Places orders through `POST /orders` at
 * a steady open-loop rate and, in the same run against the same server at the same rate, raw
 * `client.workflow.start` calls; follows the orders to their final status through the read model;
 * prints one table (or `--json`). Asserts nothing. See docs/benchmarks.md.
 *
 *   npm run bench                          200 orders at 50/s
 *   npm run bench -- --short               60 orders at 50/s, about 2 minutes
 *   npm run bench -- --orders 300 --rate 20
 *   npm run bench -- --concurrency 20      closed loop: 20 clients, each waits for its answer
 *   npm run bench -- --json > run.json     the same figures as JSON, to compare commits
 *
 * Worker settings come from the environment as in production (WORKER_ACTIVITY_CONCURRENCY,
 * WORKER_WORKFLOW_CONCURRENCY, WORKER_CACHED_WORKFLOWS, WORKER_POLLERS, WORKER_TUNER: docs/configuration.md).
 */
const { flag, option } = commandLine();
const SHORT = flag('short') || process.env.BENCH_SHORT === '1';
const JSON_OUT = flag('json');
const KEEP = flag('keep');
const ORDERS = Number(option('orders') ?? process.env.BENCH_ORDERS ?? (SHORT ? 60 : 200));
const CONCURRENCY = option('concurrency') ?? process.env.BENCH_CONCURRENCY;
const RATE = Number(option('rate') ?? process.env.BENCH_RATE ?? 50);
/** The share of orders that ship as two parcels (`--split 0`: every order from one warehouse). */
const SPLIT_SHARE = Number(option('split') ?? 0.25);
if (!(SPLIT_SHARE >= 0 && SPLIT_SHARE <= 1))
  throw new Error(`--split must be a share from 0 to 1, not ${option('split')}`);
const WARMUP = 3;
/** The namespace raw starts go to: the same server, and the `action` counter tells it apart. */
const RAW_NAMESPACE = 'bench-raw';
const NAMESPACE = 'default';
const say = (message: string) => process.stderr.write(`bench: ${message}\n`);

async function main(): Promise<void> {
  const t0 = Date.now();
  say(`${ORDERS} orders ${CONCURRENCY ? `from ${CONCURRENCY} clients` : `at ${RATE}/s`}`);
  const system = await startBenchSystem({
    run: 'bench',
    namespaces: [RAW_NAMESPACE],
    say,
    env: {
      // The simulated parties answer at once; the policy's windows are a second long.
      SIM_DELAY_SCALE: '0',
      CANCELLATION_BUFFER: '1s',
      RETURN_WINDOW: '1s',
      // The feedback request closes the order's life: a second after delivery, so the bench counts it too.
      FEEDBACK_DELAY: '1s',
      BACKORDER_POLICY: 'reject',
      // A wave goes to the floor full (WAVE_SIZE) or after 2 s, so the last orders do not wait 15 minutes.
      WAVE_MAX_WAIT: '2s',
      LOG_LEVEL: 'warn',
    },
  });
  const { db, observer, workers, api, simulators, temporalAddress, metricsPort, baseUrl, env } = system;
  try {
    const connection = await Connection.connect({ address: temporalAddress });
    const client = new Client({ connection, namespace: NAMESPACE });
    const raw = new Client({ connection, namespace: RAW_NAMESPACE });
    const runId = Date.now().toString(36);
    const failures = { post: 0, raw: 0 };
    const attempt = retrying(failures);
    const post = async (orderId: string, i: number, samples: number[] = []) =>
      attempt(
        'post',
        samples,
        async () =>
          (await postOrder(baseUrl, system.adminKey, orderBody(orderId, i, SPLIT_SHARE))).priority as OrderPriority,
      );
    // A raw start: a workflow no worker runs, in a namespace of its own, with the order's request as
    // its argument (so the payload is the same size), the same ID shape and the API's deadline.
    const rawStart = async (i: number, samples: number[] = []) =>
      attempt('raw', samples, () =>
        raw.withDeadline(Date.now() + 5_000, () =>
          raw.workflow.start('benchRawStart', {
            workflowId: `order-raw-${runId}-${i}`,
            taskQueue: 'bench-raw-start',
            args: [orderBody(`raw-${runId}-${i}`, i, SPLIT_SHARE)],
            workflowIdConflictPolicy: 'USE_EXISTING',
          }),
        ),
      );
    const finalOf = async (prefix: string) =>
      (await observer.execute<{ order_id: string }>(
        sql`select order_id from orders where order_id like ${`${prefix}%`} and status in ${sql.raw(`(${FINAL_STATUSES.map((s) => `'${s}'`).join(', ')})`)}`,
      )) as unknown as { order_id: string }[];

    // Warm up every path once (the API's and this client's first calls compile and connect), and let those orders finish.
    for (let i = 0; i < WARMUP; i += 1) {
      await post(`warm-${runId}-${i}`, i);
      await rawStart(-1 - i);
    }
    failures.post = failures.raw = 0;
    await waitFor('warm-up orders', async () => (await finalOf(`warm-${runId}-`)).length === WARMUP, 120_000);
    // Let the warm-up's wave (WAVE_MAX_WAIT) and workflows close before counting.
    await new Promise((resolve) => setTimeout(resolve, 3_000));

    await db.execute(sql`select pg_stat_statements_reset()`);
    const actionsBefore = await actions(metricsPort, NAMESPACE);
    const cpuBefore = [...workers, api].map((p) => processUsage(p.pid).cpuSeconds);

    const ids = Array.from({ length: ORDERS }, (_, i) => `bench-${runId}-${i}`);
    const postMs: number[] = [];
    const rawMs: number[] = [];
    const priorityOf = new Map<string, OrderPriority>();
    const acceptedAt = new Map<string, number>();
    const accepting = progressBar('orders placed  ');
    const started = Date.now();
    let placed = 0;
    await drive(ORDERS, { rate: RATE, concurrency: CONCURRENCY ? Number(CONCURRENCY) : undefined }, async (i) => {
      const [priority] = await Promise.all([post(ids[i]!, i, postMs), rawStart(i, rawMs)]);
      priorityOf.set(ids[i]!, priority);
      acceptedAt.set(ids[i]!, Date.now());
      accepting(++placed, ORDERS);
    });
    const acceptSeconds = (Date.now() - started) / 1000;

    const finishing = progressBar('orders finished');
    const finishedAt = new Map<string, number>();
    const limitMs = Number(option('wait-seconds') ?? (SHORT ? 120 : 900)) * 1000;
    while (finishedAt.size < ORDERS && Date.now() - started < limitMs) {
      for (const row of await finalOf(`bench-${runId}-`))
        if (!finishedAt.has(row.order_id)) finishedAt.set(row.order_id, Date.now());
      finishing(finishedAt.size, ORDERS);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const totalSeconds = (Math.max(...finishedAt.values(), started) - started) / 1000;
    // Every order workflow closed (and so every action it takes counted): the last ones close just after their final status.
    if (finishedAt.size < ORDERS)
      say(`only ${finishedAt.size} of ${ORDERS} orders finished in time: per-order costs are partial`);
    else
      await waitFor(
        'order workflows to close',
        async () =>
          (await client.workflow.count(`WorkflowType = 'orderWorkflow' AND ExecutionStatus = 'Running'`)).count === 0,
        60_000,
      ).catch(() => say('some order workflows still run: their remaining actions are not counted'));

    const actionsAfter = await actions(metricsPort, NAMESPACE);
    const usage = [...workers, api].map((p) => processUsage(p.pid));
    const workerCpu = usage.slice(0, workers.length).reduce((sum, u, n) => sum + u.cpuSeconds - cpuBefore[n]!, 0);
    const apiCpu = usage.at(-1)!.cpuSeconds - cpuBefore.at(-1)!;
    const [statements] = (await db.execute<{ calls: number }>(
      sql`select coalesce(sum(calls), 0)::bigint::int as calls from pg_stat_statements s join pg_database d on d.oid = s.dbid
          where d.datname = current_database() and s.userid <> 'bench_observer'::regrole`,
    )) as unknown as [{ calls: number }];

    // History: each finished order's own workflows (the order's and its shipments'), and every wave
    // workflow (shared by the orders in its waves: divided by all the orders placed).
    const blank = () => ({
      events: 0,
      workflowTasks: 0,
      activities: 0,
      workflows: 0,
      actionsByKind: {} as Record<string, number>,
      changeVersionUpserts: 0,
    });
    const own = blank();
    const shared = blank();
    const orderEvents: number[] = [];
    const finishedOrder = (workflowId: string) =>
      [...finishedAt.keys()].some((id) => workflowId === `order-${id}` || workflowId.startsWith(`shipment-${id}-`));
    const executions: { workflowId: string; runId: string; tally: ReturnType<typeof blank> }[] = [];
    for await (const { workflowId, runId: run } of client.workflow.list()) {
      if (workflowId.startsWith('wave')) executions.push({ workflowId, runId: run, tally: shared });
      else if (finishedOrder(workflowId)) executions.push({ workflowId, runId: run, tally: own });
    }
    const fetching = progressBar('histories read ');
    const total = executions.length;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let next = executions.pop(); next; next = executions.pop()) {
          const history = await client.workflow.getHandle(next.workflowId, next.runId).fetchHistory();
          const events = history.events ?? [];
          next.tally.workflows += 1;
          next.tally.events += events.length;
          next.tally.workflowTasks += events.filter((e) => e.workflowTaskScheduledEventAttributes).length;
          next.tally.activities += events.filter((e) => e.activityTaskScheduledEventAttributes).length;
          const cost = orderCost([history]);
          for (const [kind, n] of Object.entries(cost.actionsByKind))
            next.tally.actionsByKind[kind] = (next.tally.actionsByKind[kind] ?? 0) + n;
          next.tally.changeVersionUpserts += cost.changeVersionUpserts;
          if (next.workflowId.startsWith('order-')) orderEvents.push(events.length);
          fetching(total - executions.length, total);
        }
      }),
    );
    const historyPerOrder = (key: Exclude<keyof ReturnType<typeof blank>, 'actionsByKind'>) =>
      own[key] / Math.max(1, finishedAt.size) + shared[key] / ORDERS;
    // The same actions counted from the histories, by kind (scripts/order-cost.ts): where the counter's total comes from.
    const actionsByKind = Object.fromEntries(
      Object.keys({ ...own.actionsByKind, ...shared.actionsByKind }).map((kind) => [
        kind,
        round(
          (own.actionsByKind[kind] ?? 0) / Math.max(1, finishedAt.size) + (shared.actionsByKind[kind] ?? 0) / ORDERS,
          2,
        ),
      ]),
    );

    // Priority: capture as the payment ledger recorded it, pick start as the simulated warehouse was asked (one clock).
    const times = (await observer.execute<{ order_id: string; captured: Date | null; picked: Date | null }>(sql`
      select o.order_id,
        (select min(p.created_at) from payments p where p.order_id = o.order_id and p.kind = 'capture') as captured,
        (select min(d.due_at) from simulator_deliveries d where d.path = '/warehouse/events'
           and d.body ->> 'orderId' = o.order_id and d.body ->> 'type' = 'pick_completed') as picked
      from orders o where o.order_id like ${`bench-${runId}-%`}`)) as unknown as {
      order_id: string;
      captured: Date | string | null;
      picked: Date | string | null;
    }[];
    const waits = { capture: new Map<OrderPriority, number[]>(), receipt: new Map<OrderPriority, number[]>() };
    for (const priority of orderPriorities) {
      waits.capture.set(priority, []);
      waits.receipt.set(priority, []);
    }
    for (const row of times) {
      if (!row.picked) continue;
      const picked = new Date(row.picked).getTime();
      const priority = priorityOf.get(row.order_id)!;
      if (row.captured) waits.capture.get(priority)!.push(picked - new Date(row.captured).getTime());
      waits.receipt.get(priority)!.push(picked - acceptedAt.get(row.order_id)!);
    }
    const statuses = (await observer.execute<{ status: string; n: number }>(
      sql`select status, count(*)::int as n from orders where order_id like ${`bench-${runId}-%`} group by status`,
    )) as unknown as { status: string; n: number }[];
    const [split] = (await observer.execute<{ split: number; shipments: number }>(
      sql`select count(*) filter (where jsonb_array_length(view -> 'shipments') > 1)::int as split,
                 coalesce(sum(jsonb_array_length(view -> 'shipments')), 0)::int as shipments
          from orders where order_id like ${`bench-${runId}-%`}`,
    )) as unknown as [{ split: number; shipments: number }];
    const violations = await checkInvariants(observer, { orderIds: ids });
    const waveFigures = await waveStats(observer, new Date(t0));

    const perOrder = (n: number) => n / ORDERS;
    const post_ = percentiles(postMs);
    const raw_ = percentiles(rawMs);
    const result = {
      machine: `${cpus().length} cores`,
      orders: ORDERS,
      load: CONCURRENCY ? { concurrency: Number(CONCURRENCY) } : { rate: RATE },
      // The settings the workers ran with (theirs are parsed from the same environment).
      workerSettings: Object.fromEntries(
        Object.entries(parseConfig(env)).filter(
          ([key]) => key.startsWith('WORKER_') && !/METRICS|DEPLOYMENT|BUILD|VERSIONING|MAKE_CURRENT/.test(key),
        ),
      ),
      ordersPerSecond: totalSeconds > 0 ? round(finishedAt.size / totalSeconds, 2) : 0,
      finished: finishedAt.size,
      seconds: round(totalSeconds),
      statuses: Object.fromEntries(statuses.map((s) => [s.status, s.n])),
      acceptedPerSecond: round(ORDERS / acceptSeconds),
      postOrdersMs: { p50: round(post_.p50), p95: round(post_.p95), p99: round(post_.p99) },
      rawStartMs: { p50: round(raw_.p50), p95: round(raw_.p95), p99: round(raw_.p99) },
      postToRawP99: round(post_.p99 / raw_.p99, 2),
      failedAttempts: failures,
      perOrder: {
        historyEvents: round(historyPerOrder('events')),
        orderWorkflowEventsP50: percentile(orderEvents, 50),
        workflowTasks: round(historyPerOrder('workflowTasks')),
        activities: round(historyPerOrder('activities')),
        workflows: round(historyPerOrder('workflows'), 2),
        // The counter as Cloud bills it: markers once per workflow task, `TemporalChangeVersion` upserts left out.
        billableActions: round(
          perOrder(actionsAfter.billed - actionsBefore.billed) - historyPerOrder('changeVersionUpserts'),
        ),
        counterActions: round(perOrder(actionsAfter.counted - actionsBefore.counted)),
        actionsByKind,
        postgresStatements: round(perOrder(statements.calls)),
      },
      per1000Orders: {
        workerCpuSeconds: round((workerCpu * 1000) / ORDERS),
        apiCpuSeconds: round((apiCpu * 1000) / ORDERS),
      },
      workerPeakRssMiB: round(Math.max(...usage.slice(0, workers.length).map((u) => u.peakRssMiB))),
      shipmentsPerOrder: round(split.shipments / ORDERS, 2),
      splitShare: round(split.split / ORDERS, 3),
      waves: { released: waveFigures.released, meanSize: round(waveFigures.meanSize) },
      pickStartSeconds: Object.fromEntries(
        (['capture', 'receipt'] as const).map((from) => [
          from,
          Object.fromEntries(
            orderPriorities.map((priority) => {
              const w = waits[from].get(priority)!;
              return [
                priority,
                { p50: round(percentile(w, 50) / 1000, 2), p95: round(percentile(w, 95) / 1000, 2), n: w.length },
              ];
            }),
          ),
        ]),
      ),
      ledgerViolations: violations.length,
      benchSeconds: Math.round((Date.now() - t0) / 1000),
    };

    if (JSON_OUT) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      const ms = (p: { p50: number; p95: number; p99: number }) => `${p.p50} / ${p.p95} / ${p.p99} ms`;
      const rows: [string, string][] = [
        [
          'orders/s end to end',
          `${result.ordersPerSecond} (${result.finished} of ${ORDERS} final in ${result.seconds} s: ${statuses.map((s) => `${s.status} ${s.n}`).join(', ')})`,
        ],
        ['orders accepted/s', String(result.acceptedPerSecond)],
        ['POST /orders p50 / p95 / p99', ms(result.postOrdersMs)],
        ['raw workflow.start p50 / p95 / p99', ms(result.rawStartMs)],
        ['POST p99 / raw start p99', `${result.postToRawP99} ×`],
        ['failed attempts (retried)', `POST ${failures.post}, raw start ${failures.raw}`],
        [
          'history events per order',
          `${result.perOrder.historyEvents} (order workflow alone p50 ${result.perOrder.orderWorkflowEventsP50})`,
        ],
        ['workflow tasks per order', String(result.perOrder.workflowTasks)],
        ['activities per order', String(result.perOrder.activities)],
        [
          'billable actions per order',
          `${result.perOrder.billableActions} (dev server \`action\` counter as Cloud bills it; ${result.perOrder.counterActions} as the server counts)`,
        ],
        [
          '  by kind, from the histories',
          Object.entries(result.perOrder.actionsByKind)
            .filter(([, n]) => n > 0)
            .map(([kind, n]) => `${kind} ${n}`)
            .join(', '),
        ],
        [
          'Postgres statements per order',
          `${result.perOrder.postgresStatements} (pg_stat_statements, incl. BEGIN/COMMIT and pollers)`,
        ],
        [
          'worker CPU s per 1,000 orders',
          `${result.per1000Orders.workerCpuSeconds} (API ${result.per1000Orders.apiCpuSeconds})`,
        ],
        ['worker peak RSS', `${result.workerPeakRssMiB} MiB`],
        [
          'shipments per order / share split',
          `${result.shipmentsPerOrder} / ${(result.splitShare * 100).toFixed(1)} %`,
        ],
        ['waves released / mean wave size', `${result.waves.released} / ${result.waves.meanSize} shipments`],
        ...(['capture', 'receipt'] as const).flatMap((from) =>
          orderPriorities.map((priority): [string, string] => {
            const w = result.pickStartSeconds[from]![priority]!;
            return [`${from} to pick start p50 / p95 ${priority}`, `${w.p50} / ${w.p95} s (${w.n} orders)`];
          }),
        ),
        ['ledger invariant violations', String(result.ledgerViolations)],
        [
          'worker settings',
          Object.entries(result.workerSettings)
            .map(([key, value]) => `${key}=${String(value)}`)
            .join(' '),
        ],
      ];
      const width = Math.max(...rows.map(([label]) => label.length));
      process.stdout.write(
        `\nbench: ${ORDERS} orders ${CONCURRENCY ? `from ${CONCURRENCY} clients` : `at ${RATE}/s`}, ${workers.length} workers, ${result.machine}, ${result.benchSeconds} s\n`,
      );
      for (const [label, value] of rows) process.stdout.write(`  ${label.padEnd(width)}  ${value}\n`);
    }

    await connection.close();
    for (const child of [simulators, api, ...workers]) await child.stop('SIGTERM');
  } finally {
    await system.stop(KEEP);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    const cause = error instanceof Error && error.cause ? `\ncaused by: ${String(error.cause)}` : '';
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}${cause}\n`);
    process.exit(1);
  },
);
