import { CancellationScope, log, patched } from '@temporalio/workflow';
import type { ShipmentView } from '../../domain/order.js';
import { BOXES, chooseBox, packedWeightGrams, weightWithinTolerance } from '../../domain/packaging.js';
import { Patch } from '../patches.js';
import { mustComplete, steps } from '../proxies.js';
import { reserve } from './reserve.js';
import type { Order } from './state.js';
import { refundCapture, releaseReservation } from './undos.js';
import { warehouseTask } from './warehouse-task.js';
import { WavePick } from './wave-pick.js';

/**
 * Pick, pack, label and hand over one shipment from the reserved warehouse. Until the hand-over
 * every effect has its undo registered; after it, only a refund undoes anything.
 */
export async function shipFromWarehouse(order: Order): Promise<void> {
  const { orderId, request, view } = order;
  const number = order.nextLabelNumber();
  order.undo.push({
    name: 'withdraw open warehouse tasks',
    phase: 'warehouse_tasks',
    run: async (act) => {
      for (const taskId of order.requestedTasks) await act.cancelWarehouseTask({ taskId });
      return null;
    },
  });

  // A shipment of an order placed with WAVE_PICKING is picked and labelled in its warehouse's waves.
  const wave =
    order.asShipment && order.policy.wavePicking && (order.lean || patched(Patch.ShipmentsPickedInWaves))
      ? new WavePick(order)
      : null;

  // A short pick writes the missing units off and starts over with a new reservation.
  for (;;) {
    const warehouseId = order.warehouseId!;
    const pick = wave
      ? await wave.pick()
      : await warehouseTask(order, 'pick', (taskId) =>
          steps.requestPick({ taskId, orderId, warehouseId, lines: order.warehouseLines() }),
        );
    if (!pick.shortages?.length) break;
    const shortages = pick.shortages;
    await order.runStep('record the short pick', () => steps.recordShortPick({ ...order.subject, shortages }));
    await order.runStep('release the rest of the pick', () => steps.releaseStock(order.subject));
    await order.record(
      'short_pick',
      'processing',
      shortages.map((s) => `${s.quantity} × ${s.sku} ${s.reason} at ${warehouseId}`).join('; '),
    );
    await reserve(order);
  }

  let packRequested = false;
  order.undo.push({
    name: 'put picked units back on the shelf',
    phase: 'shelf',
    run: async (act) => {
      await act.requestReturnToShelf({
        taskId: `${order.owner}-reshelve-${number}`,
        orderId,
        warehouseId: order.warehouseId!,
        lines: order.warehouseLines(),
        unpack: packRequested,
      });
      await act.returnPickedToShelf(order.subject);
      return packRequested ? 'unpacked and re-shelved' : 're-shelved';
    },
  });
  // Lean: the pick is booked by the same activity that asks for the pack (activities/parcel-steps.ts).
  if (!order.lean) await order.runStep('record the pick', () => steps.recordPick(order.subject));
  await order.record('picked', 'processing');

  const warehouseId = order.warehouseId!;
  const box = chooseBox(order.lines) ?? BOXES[BOXES.length - 1]!;
  const expectedWeightGrams = packedWeightGrams(order.lines, box);
  if (!chooseBox(order.lines))
    log.warn('items exceed the standard boxes; the warehouse packs by hand', { orderId, box: box.code });
  const packed = await warehouseTask(
    order,
    'pack',
    (taskId) => {
      packRequested = true;
      const task = { taskId, orderId, warehouseId, lines: order.warehouseLines(), box, expectedWeightGrams };
      // Patch.SharedTimerAndWrites: the pick's milestone, held, is written by this step (record.ts, `carryingHeld`).
      return order.lean
        ? order.carryingHeld((held) => steps.recordPickAndRequestPack({ ...task, ...order.subject, ...held }))
        : steps.requestPack(task);
    },
    (event) =>
      event.measuredWeightGrams === undefined || weightWithinTolerance(expectedWeightGrams, event.measuredWeightGrams),
  );
  const weightGrams = packed.measuredWeightGrams ?? expectedWeightGrams;
  await order.record('packed', 'processing', `box ${box.code}, ${weightGrams} g`);

  // The wave's label, or (one at a time, or when the wave's batch failed) one bought here.
  let shipment: ShipmentView | null = wave ? await wave.label(number) : null;
  if (!shipment) {
    order.undo.push({
      name: 'void the label',
      phase: 'label',
      run: async (act) => {
        const { voided } = await act.voidLabel({ orderId, shipmentNumber: number });
        if (!voided) return null;
        order.parcel = null;
        return `voided label ${voided}`;
      },
    });
    shipment = await order.runStep('buy the label', () =>
      steps.buyLabel({
        orderId,
        shipmentNumber: number,
        warehouseId,
        shippingAddress: request.shippingAddress,
        shippingSpeed: request.shippingSpeed,
        box,
        weightGrams,
      }),
    );
  }
  order.parcel = shipment;
  view.deliveryAttempts = 0;
  await order.record(
    'label_created',
    'processing',
    `${shipment.carrier} ${shipment.service} ${shipment.trackingNumber}`,
  );

  // The point of no return: once the carrier has the parcel, only a return helps.
  order.checkpoint();
  order.leftWarehouse = true;
  const parcel = { carrier: shipment.carrier, service: shipment.service, trackingNumber: shipment.trackingNumber };
  if (order.sharedTimerAndWrites && order.inOrderWorkflow) {
    // Patch.SharedTimerAndWrites: the milestone is held first and the hand-over writes it once the
    // parcel is with the carrier. It cannot fail (retried until it succeeds, and not cancellable).
    await shipped(order, shipment);
    await CancellationScope.nonCancellable(() =>
      order.carryingHeld((held) => mustComplete.handOverAndRecordShipped({ ...parcel, ...order.subject, ...held })),
    );
    return;
  }
  await CancellationScope.nonCancellable(async () => {
    if (order.lean) return mustComplete.handOverAndRecordShipped({ ...parcel, ...order.subject });
    await mustComplete.handOverToCarrier(parcel);
    await mustComplete.recordShipped(order.subject);
  });
  await shipped(order, shipment);
}

/** The parcel is with the carrier: what is left to undo, its status, the milestone and the customer's notice. */
async function shipped(order: Order, shipment: ShipmentView): Promise<void> {
  // What is left to undo is the money (and a reship's reservation); the units are with the carrier.
  order.undo.splice(0, order.undo.length, releaseReservation(order), refundCapture(order));
  order.parcel = { ...shipment, status: 'shipped' };
  await order.record('shipped', 'shipped', `${shipment.carrier} ${shipment.trackingNumber}`);
  await order.notify({
    kind: 'shipped',
    about: shipment.shipmentId,
    subject: `Order ${order.orderId} has shipped`,
    body: `Your parcel is on its way with ${shipment.carrier} (${shipment.service}), tracking number ${shipment.trackingNumber}, expected by ${shipment.promisedBy}.`,
  });
}
