import { execFile } from 'node:child_process';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import { Client, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { MockActivityEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { eq, inArray } from 'drizzle-orm';
import { PDFDocument } from 'pdf-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../activities/index.js';
import type { WarehouseSystem } from '../activities/ports.js';
import { createWaveActivities, DEFAULT_WAVE_SETTINGS } from '../activities/waves.js';
import { createApp } from '../api/app.js';
import type { Database } from '../db/client.js';
import { simulatorLabels, warehouses, waves, waveShipments } from '../db/schema.js';
import { waveStats } from '../db/waves.js';
import {
  type ShipmentPriority,
  type ShipmentReady,
  type WavePolicy,
  waveIdOf,
  wavesWorkflowId,
  waveWorkflowId,
} from '../domain/waves.js';
import { createSimulatedCarriers } from '../simulators/carriers.js';
import { createLoggingNotifier } from '../simulators/notifier.js';
import { runDeliveryLoop } from '../simulators/deliveries.js';
import { createSimulatedPaymentGateway } from '../simulators/payment-gateway.js';
import { createSimulatedWarehouse } from '../simulators/warehouse.js';
import type { WaveOutcome } from '../workflows/wave.js';
import { leaveWaveUpdate, shipmentReadySignal, wavesViewQuery } from '../domain/messages.js';
import { assertConforms } from './support/contract.js';
import { credentialHeaders, TEST_CARRIER_SECRET, TEST_KEYS, testAuth } from './support/credentials.js';
import { testDatabase } from './support/database.js';
import { saveHistory } from './support/histories.js';
import { PRODUCTION_POLICY } from './support/orders.js';
import { letWaveStartSignal } from './support/hold-wave-starts.js';
import { timeSkippingEnvironment } from './support/temporal.js';
import type { leavingShipmentWorkflow, shipmentDriverWorkflow } from './support/wave-driver-workflows.js';

/**
 * Wave picking on the time-skipping server with the real wave activities on the run's Postgres,
 * the simulated carriers, and a warehouse floor that answers each batch pick per shipment through
 * the API's warehouse endpoint (over HTTP, with the warehouse key), as a real WMS would. A test
 * workflow plays each shipment's part of the protocol (workflows/waves-client.ts).
 */
let env: TestWorkflowEnvironment;
/**
 * Waits on results in real time: the time-skipping client skips whenever nothing runs, which can
 * land between a shipment's steps; the tests that need time to pass say so with `env.sleep`.
 */
let client: Client;
let db: Database;
let server: Server;
let baseUrl: string;
let worker: Worker;
let running: Promise<void>;
const taskQueue = `waves-${randomUUID().slice(0, 8)}`;
const settings: Omit<WavePolicy, 'timeZone'> = {
  ...DEFAULT_WAVE_SETTINGS,
  waveSize: 3,
  maxWait: '15m',
  cutoffs: {},
  cutoffLead: '1h',
  pickSla: '4h',
  pickAttempts: 2,
};

/** The floor: what it was asked, the units it comes up short of (per shipment), the shipments it never answers for. */
const floor = {
  tasks: [] as Parameters<WarehouseSystem['requestWavePick']>[0][],
  short: new Map<string, { sku: string; quantity: number; reason: 'missing' | 'damaged' }[]>(),
  silent: new Set<string>(),
  /** Warehouses whose floor is the built-in simulated WMS (its answers come by the delivery loop). */
  simulated: new Set<string>(),
  answers: [] as { shipmentId: string; status: number }[],
};

async function api(path: string, as: 'warehouse' | 'support' | 'service' = 'warehouse') {
  const response = await fetch(`${baseUrl}${path}`, { headers: credentialHeaders(as) });
  const type = response.headers.get('content-type') ?? '';
  const bytes = new Uint8Array(await response.arrayBuffer());
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const body: any = /json/.test(type) ? JSON.parse(Buffer.from(bytes).toString('utf8')) : bytes;
  assertConforms('GET', path, response.status, type, /json/.test(type) ? body : undefined);
  return { status: response.status, type, body };
}

/**
 * Warehouses whose waves' `released` write waits until the test lets it go: a loaded machine, where
 * a wave is released by the waves workflow well before its shipments hear of it. The write itself
 * is the real one.
 */
const slowReleases = new Map<string, Promise<void>>();

function withSlowReleases<A extends ReturnType<typeof createActivities>>(activities: A): A {
  return {
    ...activities,
    async recordWave(record: Parameters<A['recordWave']>[0]) {
      if (record.status === 'released') await slowReleases.get(record.warehouseId);
      return activities.recordWave(record);
    },
  };
}

let simulatedWarehouse: WarehouseSystem;
const stopDeliveries = new AbortController();
let deliveries: Promise<void> = Promise.resolve();

const warehouseFloor: WarehouseSystem = {
  async requestWavePick(task) {
    floor.tasks.push(task);
    if (floor.simulated.has(task.warehouseId)) return simulatedWarehouse.requestWavePick(task);
    // The pickers answer per shipment through the API before the hand-over returns: the test
    // server skips time only while no activity runs, so an answer cannot lose a race with the SLA.
    await (async () => {
      for (const { shipmentId, orderId } of task.shipments) {
        if (floor.silent.has(shipmentId)) continue;
        const response = await fetch(`${baseUrl}/warehouse/events`, {
          method: 'POST',
          headers: { ...credentialHeaders('warehouse'), 'content-type': 'application/json' },
          body: JSON.stringify({
            taskId: task.taskId,
            orderId,
            waveId: task.waveId,
            shipmentId,
            type: 'pick_completed',
            at: new Date().toISOString(),
            ...(floor.short.has(shipmentId) ? { shortages: floor.short.get(shipmentId) } : {}),
          }),
        });
        floor.answers.push({ shipmentId, status: response.status });
      }
    })();
  },
  async requestPick() {},
  async requestPack() {},
  async cancelTask() {},
  async expectReturn() {},
  async requestReturnToShelf() {},
};

beforeAll(async () => {
  env = await timeSkippingEnvironment();
  client = new Client({ connection: env.connection, namespace: env.namespace ?? 'default' });
  db = await testDatabase();
  const app = createApp({
    db,
    temporal: env.client,
    auth: testAuth,
    orderPolicy: PRODUCTION_POLICY,
    log: { error: (e, m) => console.error(m, e), info: () => {} },
  });
  server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  simulatedWarehouse = createSimulatedWarehouse({ db, delayScale: 0 });
  deliveries = runDeliveryLoop(
    db,
    { baseUrl, apiKey: TEST_KEYS.warehouse, carrierWebhookSecret: TEST_CARRIER_SECRET },
    stopDeliveries.signal,
    () => {},
  );
  worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    workflowBundle: await bundleWorkflowCode({
      workflowsPath: fileURLToPath(new URL('./support/wave-driver-workflows.ts', import.meta.url)),
      workflowInterceptorModules: [fileURLToPath(new URL('./support/hold-wave-starts.ts', import.meta.url))],
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error },
    }),
    activities: withSlowReleases(
      createActivities({
        db,
        payments: createSimulatedPaymentGateway({ db, delayScale: 0 }),
        warehouse: warehouseFloor,
        carriers: createSimulatedCarriers({ db, delayScale: 0 }),
        notifier: createLoggingNotifier(() => {}),
        waves: settings,
      }),
    ),
  });
  running = worker.run();
  // A first workflow task loads the bundle into the worker, which on a busy machine can outlast the
  // 10 s workflow task timeout, and the test server then skips time past every wait: warm up first.
  const warmUp = await ship(await newWarehouse(), 'urgent', [{ sku: 'MUG-CERAMIC', quantity: 1 }]);
  await warmUp.result();
}, 180_000);

afterAll(async () => {
  stopDeliveries.abort();
  await deliveries;
  worker?.shutdown();
  await running;
  await new Promise((resolve) => server?.close(resolve));
  await env?.teardown();
  await db?.close();
});

/** A warehouse of its own (its own wave workflow), in a time zone. */
async function newWarehouse(timeZone = 'UTC', prefix = 'wh-t'): Promise<string> {
  const id = `${prefix}${randomUUID().slice(0, 6)}`;
  await db.insert(warehouses).values({
    id,
    name: `Test DC ${id}`,
    city: 'Newark',
    region: 'NJ',
    country: 'US',
    lat: 40.74,
    lon: -74.17,
    timeZone,
  });
  return id;
}

const shipTo = {
  name: 'Ada Lovelace',
  line1: '1 Main St',
  city: 'Seattle',
  region: 'WA',
  postalCode: '98101',
  country: 'US',
};

type Driver = WorkflowHandle<typeof shipmentDriverWorkflow>;

async function ship(
  warehouseId: string,
  priority: ShipmentPriority,
  items: { sku: string; quantity: number }[],
  carrier = 'swiftship',
  orderId = `wv-${randomUUID().slice(0, 8)}`,
): Promise<Driver & { shipmentId: string }> {
  const shipmentId = `${orderId}-1`;
  const handle = await client.workflow.start<typeof shipmentDriverWorkflow>('shipmentDriverWorkflow', {
    workflowId: `shipment-${shipmentId}`,
    taskQueue,
    args: [
      {
        shipmentId,
        orderId,
        warehouseId,
        priority,
        carrier,
        service: 'ground',
        items,
        shipTo,
      },
    ],
  });
  return Object.assign(handle, { shipmentId });
}

function waveOf(waveId: string): WorkflowHandle<(input: unknown) => Promise<WaveOutcome>> {
  return client.workflow.getHandle(waveWorkflowId(waveId));
}

async function waveRow(waveId: string) {
  const [row] = await db.select().from(waves).where(eq(waves.id, waveId));
  return row!;
}

describe('wave picking', () => {
  it('releases a wave by size: one pick list by zone in bin order, labels bought in priority order, a label sheet that opens', async () => {
    const warehouseId = await newWarehouse();
    const first = await ship(warehouseId, 'normal', [
      { sku: 'LAMP-DESK', quantity: 1 },
      { sku: 'TSHIRT-ORG-M', quantity: 2 },
    ]);
    const second = await ship(warehouseId, 'normal', [{ sku: 'MUG-CERAMIC', quantity: 1 }]);
    const third = await ship(warehouseId, 'high', [
      { sku: 'HOODIE-GRY-L', quantity: 1 },
      { sku: 'MUG-CERAMIC', quantity: 2 },
    ]);
    const results = await Promise.all([first.result(), second.result(), third.result()]);

    const waveId = results[0].waveId;
    expect(results.map((r) => r.waveId)).toEqual([waveId, waveId, waveId]);
    expect((await waveRow(waveId)).reason).toBe('size');
    const outcome = await waveOf(waveId).result();
    // One walk: zone A, B, C; bins ascending; in one bin the high-priority shipment first.
    expect(outcome.pickList.map((z) => z.zone)).toEqual(['A', 'B', 'C']);
    expect(outcome.pickList.flatMap((z) => z.lines.map((l) => [l.bin, l.sku, l.shipmentId]))).toEqual([
      ['A-01-02', 'TSHIRT-ORG-M', first.shipmentId],
      ['A-01-04', 'HOODIE-GRY-L', third.shipmentId],
      ['B-01-01', 'MUG-CERAMIC', third.shipmentId],
      ['B-01-01', 'MUG-CERAMIC', second.shipmentId],
      ['C-01-01', 'LAMP-DESK', first.shipmentId],
    ]);
    expect(floor.tasks.filter((t) => t.waveId === waveId)).toHaveLength(1);
    // Labels: the high one first, then the normal ones as they became ready.
    expect(outcome.labels.map((l) => [l.shipmentId, l.label.printPosition])).toEqual([
      [third.shipmentId, 1],
      [first.shipmentId, 2],
      [second.shipmentId, 3],
    ]);
    for (const r of results) expect(r.label).toMatchObject({ labelled: true, label: { carrier: 'swiftship' } });
    expect(new Set(outcome.labels.map((l) => l.label.trackingNumber)).size).toBe(3);

    // The API: the wave with its shipments, pick list and timestamps, in the list, and its label sheet.
    const wave = await api(`/waves/${waveId}`);
    expect(wave.status).toBe(200);
    expect(wave.body).toMatchObject({ waveId, warehouseId, status: 'closed', reason: 'size', shipmentCount: 3 });
    expect(
      wave.body.shipments.map((s: { shipmentId: string; priority: string }) => [s.shipmentId, s.priority]),
    ).toEqual([
      [third.shipmentId, 'high'],
      [first.shipmentId, 'normal'],
      [second.shipmentId, 'normal'],
    ]);
    expect(wave.body.shipments.every((s: { pickStatus: string }) => s.pickStatus === 'picked')).toBe(true);
    expect(wave.body.pickList.map((z: { zone: string }) => z.zone)).toEqual(['A', 'B', 'C']);
    for (const stamp of ['opened', 'released', 'picking', 'picked', 'labelled', 'closed'])
      expect(wave.body.timestamps[stamp], stamp).not.toBeNull();
    const list = await api(`/waves?warehouseId=${warehouseId}&status=closed`, 'support');
    expect(list.body.waves.map((w: { waveId: string }) => w.waveId)).toEqual([waveId]);
    const pdf = await api(`/waves/${waveId}/labels.pdf`);
    expect(pdf.status).toBe(200);
    expect(pdf.type).toBe('application/pdf');
    expect(Buffer.from(pdf.body.slice(0, 5)).toString('latin1')).toBe('%PDF-');
    const document = await PDFDocument.load(pdf.body);
    expect(document.getPageCount()).toBe(3);
    expect(document.getTitle()).toBe(`Labels of wave ${waveId}`);
    expect(await waveStats(db)).toMatchObject({ released: expect.any(Number) });

    // A retried batch buys nothing twice; a label's undo voids it at the carrier, once.
    const activities = createWaveActivities({
      db,
      payments: createSimulatedPaymentGateway({ db, delayScale: 0 }),
      warehouse: warehouseFloor,
      carriers: createSimulatedCarriers({ db, delayScale: 0 }),
      notifier: createLoggingNotifier(() => {}),
    });
    // The same shipments as the wave sent, from what it recorded, in print order.
    const recorded = await db.select().from(waveShipments).where(eq(waveShipments.waveId, waveId));
    const printOrder = [third, first, second].map((d) => {
      const row = recorded.find((r) => r.shipmentId === d.shipmentId)!;
      return { ...row, warehouseId, readyAt: row.readyAt.toISOString(), attempt: 1 } as ShipmentReady;
    });
    const again = await activities.buyWaveLabels({ waveId, warehouseId, shipments: printOrder });
    expect(again.map((l) => l.trackingNumber)).toEqual(outcome.labels.map((l) => l.label.trackingNumber));
    const soldLabels = await db
      .select()
      .from(simulatorLabels)
      .where(
        inArray(
          simulatorLabels.trackingNumber,
          again.map((l) => l.trackingNumber),
        ),
      );
    expect(soldLabels).toHaveLength(3);
    const undo = await activities.voidWaveLabel({ waveId, shipmentId: third.shipmentId });
    expect(undo.voided).toBe(outcome.labels[0]!.label.trackingNumber);
    expect(await activities.voidWaveLabel({ waveId, shipmentId: third.shipmentId })).toEqual(undo);
    const [voided] = await db.select().from(simulatorLabels).where(eq(simulatorLabels.trackingNumber, undo.voided!));
    expect(voided!.status).toBe('voided');

    if (process.env.RECORD_HISTORIES === '1') {
      saveHistory('wave-released-by-size', await waveOf(waveId).fetchHistory());
      saveHistory('waves-of-a-warehouse', await client.workflow.getHandle(wavesWorkflowId(warehouseId)).fetchHistory());
    }
  });

  it('releases what waits once the oldest has waited WAVE_MAX_WAIT, and sends urgent shipments out at once on their own', async () => {
    const warehouseId = await newWarehouse();
    const normal = await ship(warehouseId, 'normal', [{ sku: 'BOOK-TEMPORAL', quantity: 1 }]);
    const urgent = await ship(warehouseId, 'urgent', [{ sku: 'CHARGER-65W', quantity: 1 }]);
    const urgentResult = await urgent.result();
    const urgentWave = await waveRow(urgentResult.waveId);
    expect(urgentWave.reason).toBe('urgent');
    expect((await waveOf(urgentResult.waveId).result()).labels.map((l) => l.shipmentId)).toEqual([urgent.shipmentId]);
    // Released, it can no longer leave: the waves workflow names its wave, every time it is asked.
    const batcher = client.workflow.getHandle(wavesWorkflowId(warehouseId));
    for (let i = 0; i < 2; i++)
      expect(
        await batcher.executeUpdate(leaveWaveUpdate, { args: [{ shipmentId: urgent.shipmentId, attempt: 1 }] }),
      ).toEqual({ left: false, waveId: urgentResult.waveId });

    await env.sleep('16m');
    const normalResult = await normal.result();
    expect(normalResult.waveId).not.toBe(urgentResult.waveId);
    const normalWave = await waveRow(normalResult.waveId);
    expect(normalWave.reason).toBe('max_wait');
    // In workflow time: released no sooner than 15 minutes after the shipment was ready.
    const wave = await api(`/waves/${normalResult.waveId}`);
    const readyAt = Date.parse(wave.body.shipments[0].readyAt);
    expect(Date.parse(wave.body.timestamps.released) - readyAt).toBeGreaterThanOrEqual(0);
    expect(normalWave.releasedAt!.getTime()).toBeGreaterThan(urgentWave.releasedAt!.getTime());
    expect(normalResult.label).toMatchObject({ labelled: true });
  });

  it("releases a carrier's shipments when its cut-off (warehouse local time) is near", async () => {
    const warehouseId = await newWarehouse('America/New_York');
    const now = await env.currentTimeMs();
    const local = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'America/New_York',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).format(new Date(now + 30 * 60_000));
    settings.cutoffs = { parcelpost: local };
    try {
      const early = await ship(warehouseId, 'normal', [{ sku: 'MUG-CERAMIC', quantity: 1 }], 'parcelpost');
      const result = await early.result();
      expect((await waveRow(result.waveId)).reason).toBe('cutoff');
      expect(result.label).toMatchObject({ labelled: true, label: { carrier: 'parcelpost' } });
    } finally {
      settings.cutoffs = {};
    }
  });

  it('gives each shipment its own pick answer: a short pick gets no label, the rest of the wave does', async () => {
    const warehouseId = await newWarehouse();
    const a = await ship(warehouseId, 'normal', [{ sku: 'YOGA-MAT', quantity: 1 }]);
    const b = await ship(warehouseId, 'normal', [{ sku: 'COFFEE-1KG', quantity: 2 }]);
    floor.short.set(b.shipmentId, [{ sku: 'COFFEE-1KG', quantity: 1, reason: 'damaged' }]);
    const c = await ship(warehouseId, 'normal', [{ sku: 'BOTTLE-STEEL', quantity: 1 }]);
    const [ra, rb, rc] = await Promise.all([a.result(), b.result(), c.result()]);
    expect(rb).toMatchObject({
      pick: { picked: true, shortages: [{ sku: 'COFFEE-1KG', quantity: 1, reason: 'damaged' }] },
      label: null,
    });
    expect(ra.label).toMatchObject({ labelled: true, label: { printPosition: 1 } });
    expect(rc.label).toMatchObject({ labelled: true, label: { printPosition: 2 } });
    const wave = await api(`/waves/${ra.waveId}`);
    // By shipment: the three join at the same skipped time, so the list's order among them is the IDs'.
    const pickStatuses = Object.fromEntries(
      wave.body.shipments.map((s: { shipmentId: string; pickStatus: string }) => [s.shipmentId, s.pickStatus]),
    );
    expect(pickStatuses).toEqual({ [a.shipmentId]: 'picked', [b.shipmentId]: 'short', [c.shipmentId]: 'picked' });
    expect((await PDFDocument.load((await api(`/waves/${ra.waveId}/labels.pdf`)).body)).getPageCount()).toBe(2);
  });

  it('tells a shipment the warehouse never answered after the pick SLA and its attempts', async () => {
    const warehouseId = await newWarehouse();
    const orderId = `wv-${randomUUID().slice(0, 8)}`;
    floor.silent.add(`${orderId}-1`);
    const quiet = await ship(warehouseId, 'urgent', [{ sku: 'MUG-CERAMIC', quantity: 1 }], 'swiftship', orderId);
    await env.sleep('9h');
    const result = await quiet.result();
    expect(result.pick).toMatchObject({ picked: false, reason: expect.stringMatching(/did not answer/) });
    expect(floor.tasks.filter((t) => t.waveId === result.waveId).map((t) => t.taskId)).toEqual([
      `${result.waveId}-pick-1`,
      `${result.waveId}-pick-2`,
    ]);
    expect((await waveOf(result.waveId).result()).unanswered).toEqual([quiet.shipmentId]);
    expect((await api(`/waves/${result.waveId}`)).body.shipments[0].pickStatus).toBe('unanswered');
  });

  it('works with the simulated warehouse: it answers the batch pick per shipment through the API', async () => {
    const warehouseId = await newWarehouse();
    floor.simulated.add(warehouseId);
    const drivers = [
      await ship(warehouseId, 'normal', [{ sku: 'LAMP-DESK', quantity: 1 }]),
      await ship(warehouseId, 'normal', [{ sku: 'TSHIRT-ORG-M', quantity: 1 }]),
      await ship(warehouseId, 'high', [{ sku: 'YOGA-MAT', quantity: 1 }]),
    ];
    const results = await Promise.all(drivers.map((d) => d.result()));
    expect(results.every((r) => r.label?.labelled)).toBe(true);
    // The shipments have their labels before the wave records itself closed.
    await waveOf(results[0]!.waveId).result();
    const wave = await api(`/waves/${results[0]!.waveId}`);
    expect(wave.body).toMatchObject({ status: 'closed', shipmentCount: 3 });
    expect(wave.body.shipments.map((s: { pickStatus: string }) => s.pickStatus)).toEqual([
      'picked',
      'picked',
      'picked',
    ]);
  });

  it('lets a shipment cancelled while it waits leave, and the open wave with it', async () => {
    const warehouseId = await newWarehouse();
    const orderId = `wv-${randomUUID().slice(0, 8)}`;
    const leaving = await client.workflow.start<typeof leavingShipmentWorkflow>('leavingShipmentWorkflow', {
      workflowId: `shipment-${orderId}-1`,
      taskQueue,
      args: [
        {
          shipmentId: `${orderId}-1`,
          orderId,
          warehouseId,
          priority: 'normal',
          carrier: 'swiftship',
          service: 'ground',
          items: [{ sku: 'MUG-CERAMIC', quantity: 1 }],
          shipTo,
        },
      ],
    });
    const batcher = client.workflow.getHandle(wavesWorkflowId(warehouseId));
    const waitingIds = async () => {
      try {
        return (await batcher.query(wavesViewQuery)).waiting.map((s) => s.shipmentId);
      } catch {
        return [];
      }
    };
    for (let i = 0; i < 100 && !(await waitingIds()).length; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await waitingIds()).toEqual([`${orderId}-1`]);
    expect((await api(`/waves?warehouseId=${warehouseId}&status=open`)).body.waves).toHaveLength(1);
    await leaving.signal('cancelShipment');
    expect(await leaving.result()).toEqual({ left: true });
    // A repeated leave (a retried activity) gets the same answer.
    expect(
      await batcher.executeUpdate(leaveWaveUpdate, { args: [{ shipmentId: `${orderId}-1`, attempt: 1 }] }),
    ).toEqual({
      left: true,
    });
    for (let i = 0; i < 100 && (await waitingIds()).length; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await waitingIds()).toEqual([]);
    for (let i = 0; i < 100 && (await api(`/waves?warehouseId=${warehouseId}`)).body.waves.length; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect((await api(`/waves?warehouseId=${warehouseId}`)).body.waves).toEqual([]);
  });

  it('undoes the wave for a shipment whose leave crossed its release: the waves workflow names the wave, and the shipment gets its pick and label to undo', async () => {
    const warehouseId = await newWarehouse();
    let letGo = () => {};
    slowReleases.set(warehouseId, new Promise<void>((resolve) => (letGo = resolve)));
    const orderId = `wv-${randomUUID().slice(0, 8)}`;
    const shipmentId = `${orderId}-1`;
    // Urgent: released at once, in a wave of its own, which tells the shipment only after its slow `released` write.
    const leaving = await client.workflow.start<typeof leavingShipmentWorkflow>('leavingShipmentWorkflow', {
      workflowId: `shipment-${shipmentId}`,
      taskQueue,
      args: [
        {
          shipmentId,
          orderId,
          warehouseId,
          priority: 'urgent',
          carrier: 'swiftship',
          service: 'ground',
          items: [{ sku: 'MUG-CERAMIC', quantity: 1 }],
          shipTo,
        },
      ],
    });
    const waveId = `${warehouseId}-w1`;
    const started = async () =>
      waveOf(waveId)
        .describe()
        .then(() => true)
        .catch(() => false);
    for (let i = 0; i < 300 && !(await started()); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await started()).toBe(true);

    await leaving.signal('cancelShipment');
    // The leave is answered before the shipment hears of its release: it names the wave.
    const answered = async () => {
      const events = (await leaving.fetchHistory()).events!;
      const leave = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'leaveWaves');
      return (
        leave !== undefined &&
        events.some((e) => Number(e.activityTaskCompletedEventAttributes?.scheduledEventId) === Number(leave.eventId))
      );
    };
    for (let i = 0; i < 300 && !(await answered()); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await answered()).toBe(true);
    letGo();
    const out = await leaving.result();
    expect(out).toMatchObject({
      left: false,
      waveId,
      pick: { picked: true, shortages: [] },
      label: { labelled: true },
    });
    const events = (await leaving.fetchHistory()).events!;
    const scheduled = events.flatMap((e) =>
      e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name] : [],
    );
    expect(scheduled).toEqual(['joinWaves', 'leaveWaves']);
  });

  it('releases the next wave without a shipment that left while the wave before it started (the chaos suite found a waves workflow stuck on it)', async () => {
    // Its waves workflow starts a wave only when let (test/support/hold-wave-starts.ts).
    const warehouseId = await newWarehouse('UTC', 'wh-hold');
    const orderId = `wv-${randomUUID().slice(0, 8)}`;
    const t0 = Date.parse('2026-12-01T08:00:00Z');
    const ready = (n: number, priority: ShipmentPriority): ShipmentReady => ({
      shipmentId: `${orderId}-${n}`,
      orderId,
      warehouseId,
      workflowId: `shipment-${orderId}-${n}`,
      priority,
      carrier: 'swiftship',
      service: 'ground',
      items: [{ sku: 'MUG-CERAMIC', quantity: 1 }],
      shipTo,
      readyAt: new Date(t0 + n * 1000).toISOString(),
      attempt: 1,
    });
    const batcher = await client.workflow.signalWithStart('wavesWorkflow', {
      workflowId: wavesWorkflowId(warehouseId),
      taskQueue,
      args: [{ warehouseId, policy: { ...settings, timeZone: 'UTC' } }],
      signal: shipmentReadySignal,
      signalArgs: [ready(1, 'urgent')],
    });
    const waiting = async () => (await batcher.query(wavesViewQuery)).waiting.map((s) => s.shipmentId).sort();
    const until = async (want: string[]) => {
      for (let i = 0; i < 100 && JSON.stringify(await waiting()) !== JSON.stringify(want); i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(await waiting()).toEqual(want);
    };
    const ids = (...ns: number[]) => ns.map((n) => `${orderId}-${n}`).sort();
    // The urgent shipment's wave waits to start; six more join meanwhile: two full waves of three.
    for (let n = 2; n <= 7; n++) await batcher.signal(shipmentReadySignal, ready(n, 'normal'));
    await until(ids(2, 3, 4, 5, 6, 7));
    // The urgent wave starts; the next turn releases [2, 3, 4] and [5, 6, 7], and waits on the first's start.
    await batcher.signal(letWaveStartSignal, 1);
    await until(ids(5, 6, 7));
    // Shipment 7 is cancelled now: it still waits, so it is out.
    expect(
      await batcher.executeUpdate(leaveWaveUpdate, { args: [{ shipmentId: `${orderId}-7`, attempt: 1 }] }),
    ).toEqual({ left: true });
    await batcher.signal(letWaveStartSignal, 10);
    const membersOf = async (waveId: string) =>
      (await db.select().from(waveShipments).where(eq(waveShipments.waveId, waveId))).map((s) => s.shipmentId).sort();
    const third = waveIdOf(warehouseId, 3);
    for (let i = 0; i < 100 && !(await membersOf(third)).length; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await membersOf(waveIdOf(warehouseId, 2))).toEqual(ids(2, 3, 4));
    expect(await membersOf(third)).toEqual(ids(5, 6));
    expect(await waiting()).toEqual([]);
  });

  it('continues as new before its history grows large, carrying the waiting shipments', async () => {
    const warehouseId = await newWarehouse();
    const [row] = await db.select().from(warehouses).where(eq(warehouses.id, warehouseId));
    const batcher = await client.workflow.start('wavesWorkflow', {
      workflowId: wavesWorkflowId(warehouseId),
      taskQueue,
      args: [{ warehouseId, policy: { ...settings, timeZone: row!.timeZone }, historyLimit: 12 }],
    });
    const a = await ship(warehouseId, 'normal', [{ sku: 'MUG-CERAMIC', quantity: 1 }]);
    const b = await ship(warehouseId, 'high', [{ sku: 'BOOK-TEMPORAL', quantity: 1 }]);
    // Two joins and their open-wave write take the history past 12 events even when both signals
    // arrive in one workflow task (14 events); a fresh run carrying them stays under it (9).
    let described = await client.workflow.getHandle(batcher.workflowId).describe();
    for (let i = 0; i < 300 && described.runId === batcher.firstExecutionRunId; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      described = await client.workflow.getHandle(batcher.workflowId).describe();
    }
    expect(described.runId).not.toBe(batcher.firstExecutionRunId);
    const c = await ship(warehouseId, 'normal', [{ sku: 'CHARGER-65W', quantity: 1 }]);
    const [ra, rb, rc] = await Promise.all([a.result(), b.result(), c.result()]);
    expect(new Set([ra.waveId, rb.waveId, rc.waveId])).toEqual(new Set([`${warehouseId}-w1`]));
    expect((await waveRow(ra.waveId)).reason).toBe('size');
  });

  it('answers a leave from a warehouse whose waves never started: nothing holds the shipment', async () => {
    const activities = createWaveActivities({
      db,
      payments: createSimulatedPaymentGateway({ db, delayScale: 0 }),
      warehouse: warehouseFloor,
      carriers: createSimulatedCarriers({ db, delayScale: 0 }),
      notifier: createLoggingNotifier(() => {}),
    });
    const warehouseId = await newWarehouse();
    const leave = { warehouseId, shipmentId: `wv-${randomUUID().slice(0, 8)}-1`, attempt: 1 };
    const answer = await new MockActivityEnvironment(undefined, { client }).run(activities.leaveWaves, leave);
    expect(answer).toEqual({ left: true });
  });

  it('answers 404 for an unknown wave, its labels, and a warehouse answer to it', async () => {
    expect((await api('/waves/wh-east-w999999')).status).toBe(404);
    expect((await api('/waves/wh-east-w999999')).body.title).toBe('Unknown wave');
    expect((await api('/waves/wh-east-w999999/labels.pdf')).status).toBe(404);
    expect((await api('/waves?status=lost')).status).toBe(400);
    expect((await api('/waves', 'service')).status).toBe(403);
    const answer = await fetch(`${baseUrl}/warehouse/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_KEYS.warehouse}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        taskId: 'wh-east-w999999-pick-1',
        orderId: 'nobody',
        waveId: 'wh-east-w999999',
        shipmentId: 'nobody-1',
        type: 'pick_completed',
        at: new Date().toISOString(),
      }),
    });
    expect(answer.status).toBe(404);
  });
});

describe('configuration', () => {
  it('refuses to start a worker with invalid CARRIER_CUTOFFS, naming the variable', async () => {
    const root = fileURLToPath(new URL('../', import.meta.url));
    const run = promisify(execFile);
    const failure = await run(process.execPath, ['--import', 'tsx', 'workers/main.ts'], {
      cwd: root,
      env: { ...process.env, CARRIER_CUTOFFS: 'ups=5pm', DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' },
    }).then(
      () => null,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toMatch(/CARRIER_CUTOFFS: "ups=5pm" is not carrier=HH:MM/);
  });
});
