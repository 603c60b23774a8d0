import type { Payload } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { and, eq, inArray } from 'drizzle-orm';
import { PDFDocument } from 'pdf-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_WAVE_SETTINGS } from '../activities/waves.js';
import { closedOrderWorkflows } from '../activities/workflow-state.js';
import type { Database } from '../db/client.js';
import { checkInvariants } from '../db/invariants.js';
import { shipments, simulatorLabels, waves, waveShipments } from '../db/schema.js';
import { orderWorkflowId, shipmentWorkflowId, TASK_QUEUE } from '../domain/ids.js';
import { wavesViewQuery } from '../domain/messages.js';
import type { OrderPolicy } from '../domain/order.js';
import { wavesWorkflowId } from '../domain/waves.js';
import { credentialHeaders, testDataConverter } from './support/credentials.js';
import { saveHistory } from './support/histories.js';
import { reconcileOrdersWorkflow } from '../workflows/reconcile.js';
import { stockOf, warehouseOfItsOwn } from './support/database.js';
import { orderRequest, PRODUCTION_POLICY } from './support/orders.js';
import { startSystem, type System } from './support/system.js';

/**
 * Orders placed with wave picking on (`WAVE_PICKING`), end to end on real servers: HTTP → API →
 * Temporal dev server → worker → Postgres, the simulated warehouse answering each wave's batch pick
 * per shipment and the simulated carriers selling the wave's labels and reporting the parcels.
 * Each test has a warehouse of its own, so its shipments are the only ones in its waves.
 */
let system: System;
let db: Database;
let env: TestWorkflowEnvironment;

const policy: OrderPolicy = {
  ...PRODUCTION_POLICY,
  cancellationBuffer: '2s',
  returnWindow: '3s',
  warehouseTaskSla: '1m',
  wavePicking: true,
};

/** Packs held back for these orders (a floor that takes its time), to cancel after the wave's label. */
const heldPacks = new Set<string>();
/** The floor comes up short for these orders in their first wave, answering through the API as a WMS does. */
const shortPicks = new Map<string, { sku: string; quantity: number; reason: 'missing' | 'damaged' }[]>();

beforeAll(async () => {
  system = await startSystem({
    policy,
    // Three shipments make a wave; one alone goes out after 15 s.
    waves: { ...DEFAULT_WAVE_SETTINGS, waveSize: 3, maxWait: '15s', cutoffs: {}, pickSla: '1m', pickAttempts: 2 },
    warehouse: (simulated) => ({
      ...simulated,
      async requestPack(task) {
        if (heldPacks.has(task.orderId)) return;
        return simulated.requestPack(task);
      },
      async requestWavePick(task) {
        if (!task.shipments.some((s) => shortPicks.has(s.orderId))) return simulated.requestWavePick(task);
        for (const { shipmentId, orderId } of task.shipments) {
          const shortages = shortPicks.get(orderId) ?? [];
          shortPicks.delete(orderId);
          const answer = await system.api(
            'POST',
            '/warehouse/events',
            {
              taskId: task.taskId,
              orderId,
              waveId: task.waveId,
              shipmentId,
              type: 'pick_completed',
              at: new Date().toISOString(),
              shortages,
            },
            { as: 'warehouse' },
          );
          if (answer.status !== 202) throw new Error(`the wave pick answer was refused: ${answer.status}`);
        }
      },
    }),
  });
  ({ db, env } = system);
});

afterAll(async () => {
  await system?.stop();
});

const api = (...args: Parameters<System['api']>) => system.api(...args);
const waitForStatus = (orderId: string, status: string) => system.waitForOrder(orderId, (s) => s === status, 90_000);

/** A warehouse of its own near the customers (its own waves workflow), holding `units` of a product of its own. */
const warehouseWith = (units: number) => warehouseOfItsOwn(db, units);

async function until<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The shipments waiting in a warehouse's open wave, as its waves workflow holds them. */
async function waiting(warehouseId: string): Promise<string[]> {
  const view = await env.client.workflow.getHandle(wavesWorkflowId(warehouseId)).query(wavesViewQuery);
  return view.waiting.map((s) => s.shipmentId);
}

/**
 * Saves the order's and its shipment's histories for the replay suite, their payloads decrypted (as
 * the other committed histories are): the replay gate replays them with the deployment's keys, not the tests'.
 */
async function recordHistories(name: string, orderId: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  for (const [suffix, workflowId] of [
    ['', orderWorkflowId(orderId)],
    ['.shipment-1', shipmentWorkflowId(orderId, 1)],
  ] as const) {
    // A lone shipment of a new order runs inside its order's workflow (Patch.LoneShipmentInOrder): no history of its own.
    const history = await env.client.workflow
      .getHandle(workflowId)
      .fetchHistory()
      .catch(() => null);
    if (!history) continue;
    await decrypt(history);
    saveHistory(`${name}${suffix}`, history);
  }
}

/** Replaces every encrypted payload in `node` (a history, walked) by its decoded form. */
async function decrypt(node: unknown): Promise<void> {
  if (!node || typeof node !== 'object' || node instanceof Uint8Array) return;
  const [codec] = testDataConverter.payloadCodecs!;
  const fields = node as Record<string, unknown>;
  for (const [key, value] of Object.entries(fields)) {
    if (Array.isArray(value)) {
      for (const [i, item] of value.entries()) {
        if (isEncrypted(item)) value[i] = (await codec!.decode([item]))[0];
        else await decrypt(item);
      }
    } else if (isEncrypted(value)) fields[key] = (await codec!.decode([value]))[0];
    else await decrypt(value);
  }
}

function isEncrypted(value: unknown): value is Payload {
  const encoding = (value as Payload | null)?.metadata?.encoding;
  return encoding instanceof Uint8Array && Buffer.from(encoding).toString() === 'binary/encrypted';
}

describe('shipments picked in waves, end to end', () => {
  it('picks three orders of one warehouse in one wave, labels them from one label sheet, and ships and delivers each with the ledger clean', async () => {
    const { warehouseId, sku } = await warehouseWith(20);
    const requests = [1, 2, 3].map((quantity) => orderRequest({ items: [{ sku, quantity }] }));
    for (const request of requests) expect((await api('POST', '/orders', request)).status).toBe(202);

    const views = [];
    for (const request of requests) views.push(await waitForStatus(request.orderId, 'completed'));

    // One wave for the three, released by size, closed, on the list of the warehouse's waves.
    const waveIds = views.map((view) => view.shipments[0]!.waveId);
    const waveId = waveIds[0]!;
    expect(waveId).toMatch(new RegExp(`^${warehouseId}-w\\d+$`));
    expect(waveIds).toEqual([waveId, waveId, waveId]);
    const wave = await api('GET', `/waves/${waveId}`);
    expect(wave.body).toMatchObject({ waveId, warehouseId, status: 'closed', reason: 'size', shipmentCount: 3 });
    expect(wave.body.shipments.map((s: { shipmentId: string }) => s.shipmentId).sort()).toEqual(
      requests.map((r) => `${r.orderId}-1`).sort(),
    );
    expect(
      (await api('GET', `/waves?warehouseId=${warehouseId}`)).body.waves.map((w: { waveId: string }) => w.waveId),
    ).toEqual([waveId]);
    // One label sheet with the three labels.
    const sheet = await fetch(`${system.baseUrl}/waves/${waveId}/labels.pdf`, {
      headers: credentialHeaders('warehouse'),
    });
    expect(sheet.status).toBe(200);
    expect((await PDFDocument.load(new Uint8Array(await sheet.arrayBuffer()))).getPageCount()).toBe(3);

    // Each parcel carries the label the wave bought for it: the one the carrier's scans found it by.
    const labels = await db.select().from(waveShipments).where(eq(waveShipments.waveId, waveId));
    const rows = await db
      .select()
      .from(shipments)
      .where(
        inArray(
          shipments.orderId,
          requests.map((r) => r.orderId),
        ),
      );
    expect(rows).toHaveLength(3);
    for (const [i, view] of views.entries()) {
      const shipment = view.shipments[0]!;
      const label = labels.find((l) => l.shipmentId === shipment.shipmentId)!;
      expect(shipment).toMatchObject({ status: 'delivered', warehouseId, trackingNumber: label.trackingNumber });
      expect(rows.find((r) => r.orderId === requests[i]!.orderId)).toMatchObject({
        id: `${requests[i]!.orderId}-1`,
        trackingNumber: label.trackingNumber,
        carrier: label.carrier,
        status: 'delivered',
      });
      expect(view.timeline.map((e) => e.type)).toEqual(
        expect.arrayContaining(['picked', 'packed', 'label_created', 'shipped', 'delivered']),
      );
      // No label bought outside the wave: the only label under the order is the wave's.
      const sold = await db
        .select()
        .from(simulatorLabels)
        .where(eq(simulatorLabels.trackingNumber, label.trackingNumber!));
      expect(sold.map((l) => [l.idempotencyKey, l.status])).toEqual([
        [`${shipment.shipmentId}:wave-label:${waveId}`, 'handed_over'],
      ]);
    }
    expect(await stockOf(db, sku)).toEqual({ [warehouseId]: { onHand: 14, reserved: 0 } });
    expect(await checkInvariants(db, { orderIds: requests.map((r) => r.orderId) })).toEqual([]);
    await recordHistories('order-shipments-picked-in-wave', requests[0]!.orderId);
  });

  it('handles a short pick in a wave as before: writes the missing unit off, reserves again and ships from the next wave', async () => {
    const { warehouseId, sku } = await warehouseWith(5);
    const request = orderRequest({ items: [{ sku, quantity: 2 }] });
    shortPicks.set(request.orderId, [{ sku, quantity: 1, reason: 'damaged' }]);
    expect((await api('POST', '/orders', request)).status).toBe(202);
    const view = await waitForStatus(request.orderId, 'completed');

    const types = view.timeline.map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['short_pick', 'picked', 'label_created', 'delivered']));
    expect(types.indexOf('short_pick')).toBeLessThan(types.indexOf('picked'));
    const waves = (await api('GET', `/waves?warehouseId=${warehouseId}`)).body.waves as { waveId: string }[];
    expect(waves).toHaveLength(2);
    // The second wave picked it whole and labelled it: that is the wave the order view names.
    const [second] = await db
      .select()
      .from(waveShipments)
      .where(and(eq(waveShipments.shipmentId, `${request.orderId}-1`), eq(waveShipments.pickStatus, 'picked')));
    expect(view.shipments[0]).toMatchObject({ waveId: second!.waveId, trackingNumber: second!.trackingNumber });
    // 5 on hand, 1 written off, 2 shipped.
    expect(await stockOf(db, sku)).toEqual({ [warehouseId]: { onHand: 2, reserved: 0 } });
    expect(await checkInvariants(db, { orderIds: [request.orderId] })).toEqual([]);
    await recordHistories('order-shipments-wave-short-pick', request.orderId);
  });

  it("takes a shipment cancelled while it waits for its wave out of the waves, on the waves workflow's answer: nothing picked, nothing held", async () => {
    const { warehouseId, sku } = await warehouseWith(5);
    const request = orderRequest({ items: [{ sku, quantity: 2 }] });
    expect((await api('POST', '/orders', request)).status).toBe(202);
    const shipmentId = `${request.orderId}-1`;
    await until('the shipment to wait in the open wave', async () =>
      (await waiting(warehouseId).catch((): string[] => [])).includes(shipmentId),
    );

    expect((await api('POST', `/orders/${request.orderId}/cancel`, { reason: 'changed my mind' })).status).toBe(200);
    const view = await waitForStatus(request.orderId, 'cancelled');
    expect(await waiting(warehouseId)).toEqual([]);
    expect(view.timeline.at(-1)?.detail).toContain(`left the waves of ${warehouseId}`);
    // It asked the waves workflow (the leaveWaves activity) and took its answer: no listening for a crossing release.
    // The order's only shipment runs inside the order's workflow (Patch.LoneShipmentInOrder).
    const events = (await env.client.workflow.getHandle(orderWorkflowId(request.orderId)).fetchHistory()).events!;
    expect(events.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)).toContain('leaveWaves');
    const timers = events.flatMap((e) => (e.timerStartedEventAttributes ? [e.timerStartedEventAttributes] : []));
    expect(timers.filter((t) => Number(t.startToFireTimeout?.seconds) === 10)).toEqual([]);
    expect(view.payment).toMatchObject({ refunded: view.payment.captured });
    // Never released, never labelled: no wave of this warehouse beyond the open one, no label row.
    const waves = (await api('GET', `/waves?warehouseId=${warehouseId}`)).body.waves;
    expect(waves.filter((w: { status: string }) => w.status !== 'open')).toEqual([]);
    expect(await db.select().from(waveShipments).where(eq(waveShipments.shipmentId, shipmentId))).toEqual([]);
    expect(await db.select().from(shipments).where(eq(shipments.orderId, request.orderId))).toEqual([]);
    expect(await stockOf(db, sku)).toEqual({ [warehouseId]: { onHand: 5, reserved: 0 } });
    expect(await checkInvariants(db, { orderIds: [request.orderId] })).toEqual([]);
    await recordHistories('order-shipments-wave-left-on-answer', request.orderId);
  });

  it('undoes what the wave did for a shipment cancelled the moment its wave was released: its label voided, its units back', async () => {
    const { warehouseId, sku } = await warehouseWith(5);
    // Overnight: urgent, released at once in a wave of its own.
    const request = orderRequest({ items: [{ sku, quantity: 1 }], shippingSpeed: 'overnight' });
    heldPacks.add(request.orderId);
    expect((await api('POST', '/orders', request)).status).toBe(202);
    const shipmentId = `${request.orderId}-1`;
    const waveId = await until(
      'the wave to be released',
      async () => {
        const [row] = await db.select().from(waves).where(eq(waves.warehouseId, warehouseId));
        return row && row.status !== 'open' ? row.id : null;
      },
      90_000,
    );

    expect((await api('POST', `/orders/${request.orderId}/cancel`, { reason: 'changed my mind' })).status).toBe(200);
    const view = await waitForStatus(request.orderId, 'cancelled');
    const [row] = await db.select().from(waveShipments).where(eq(waveShipments.shipmentId, shipmentId));
    expect(row).toMatchObject({ waveId, labelStatus: 'voided' });
    expect(view.timeline.at(-1)?.detail).toContain(`voided label ${row!.trackingNumber}`);
    const [sold] = await db
      .select()
      .from(simulatorLabels)
      .where(eq(simulatorLabels.trackingNumber, row!.trackingNumber!));
    expect(sold!.status).toBe('voided');
    expect(await stockOf(db, sku)).toEqual({ [warehouseId]: { onHand: 5, reserved: 0 } });
    expect(await checkInvariants(db, { orderIds: [request.orderId] })).toEqual([]);
    await recordHistories('order-shipments-wave-cancelled-on-release', request.orderId);
  });

  it("voids the wave's label of a shipment cancelled after its wave labelled it, and puts its units back", async () => {
    const { warehouseId, sku } = await warehouseWith(5);
    const request = orderRequest({ items: [{ sku, quantity: 1 }] });
    heldPacks.add(request.orderId);
    expect((await api('POST', '/orders', request)).status).toBe(202);
    const shipmentId = `${request.orderId}-1`;
    // Alone, it goes out after the max wait; the floor picks it, the wave buys its label, the pack is held.
    const label = await until('the wave to label the shipment', async () => {
      const [row] = await db.select().from(waveShipments).where(eq(waveShipments.shipmentId, shipmentId));
      return row?.labelStatus === 'sold' ? row : null;
    });
    expect(label.trackingNumber).not.toBeNull();

    expect((await api('POST', `/orders/${request.orderId}/cancel`, { reason: 'changed my mind' })).status).toBe(200);
    const view = await waitForStatus(request.orderId, 'cancelled');
    expect(view.shipments[0]).toMatchObject({ waveId: label.waveId, status: 'cancelled' });
    expect(view.timeline.at(-1)?.detail).toContain(`voided label ${label.trackingNumber}`);
    const [after] = await db.select().from(waveShipments).where(eq(waveShipments.shipmentId, shipmentId));
    expect(after!.labelStatus).toBe('voided');
    const [sold] = await db
      .select()
      .from(simulatorLabels)
      .where(eq(simulatorLabels.trackingNumber, label.trackingNumber!));
    expect(sold!.status).toBe('voided');
    expect(await stockOf(db, sku)).toEqual({ [warehouseId]: { onHand: 5, reserved: 0 } });
    expect(await checkInvariants(db, { orderIds: [request.orderId] })).toEqual([]);
    await recordHistories('order-shipments-wave-cancelled-after-label', request.orderId);
  });
  it("has the reconciler void a wave's label of a shipment whose order an operator terminated before the shipment recorded it", async () => {
    const { warehouseId, sku } = await warehouseWith(5);
    const request = orderRequest({ items: [{ sku, quantity: 1 }] });
    heldPacks.add(request.orderId);
    expect((await api('POST', '/orders', request)).status).toBe(202);
    const label = await until('the wave to label the shipment', async () => {
      const [row] = await db
        .select()
        .from(waveShipments)
        .where(eq(waveShipments.shipmentId, `${request.orderId}-1`));
      return row?.labelStatus === 'sold' ? row : null;
    });
    await env.client.workflow.getHandle(orderWorkflowId(request.orderId)).terminate('operator: test');
    const closed = await closedOrderWorkflows(env.client, [request.orderId]);
    expect(
      (await checkInvariants(db, { orderIds: [request.orderId], closedOrderIds: [...closed.keys()] })).map(
        (v) => v.rule,
      ),
    ).toContain('unused_label');

    const {
      orders: [reconciled],
    } = await env.client.workflow.execute(reconcileOrdersWorkflow, {
      workflowId: `reconcile-${request.orderId}`,
      taskQueue: TASK_QUEUE,
      args: [{ grace: '0s', orderIds: [request.orderId] }],
    });
    expect(reconciled?.released).toContain(`voided label ${label.trackingNumber} of wave ${label.waveId}`);
    const [sold] = await db
      .select()
      .from(simulatorLabels)
      .where(eq(simulatorLabels.trackingNumber, label.trackingNumber!));
    expect(sold!.status).toBe('voided');
    expect(await checkInvariants(db, { orderIds: [request.orderId], closedOrderIds: [request.orderId] })).toEqual([]);
    expect(await stockOf(db, sku)).toEqual({ [warehouseId]: { onHand: 5, reserved: 0 } });
  });
});
