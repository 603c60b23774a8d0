import type { Database } from '../db/client.js';
import type { WarehouseSystem } from '../activities/ports.js';
import { oncePerKey } from './books.js';
import { DAY, MINUTE, simulatedDelayMs } from './delays.js';
import { cancelDelivery, scheduleDelivery } from './deliveries.js';

/**
 * A warehouse management system: a picker takes ~20 minutes, packing ~10, a wave's batch pick
 * ~10 minutes plus 2 a line (answered per shipment), and the WMS reports each task done through `POST /warehouse/events`, as a real one would. Asking twice for the same task
 * changes nothing, and so does withdrawing a task again under the same idempotency key.
 */
export function createSimulatedWarehouse(options: {
  db: Database;
  delayScale: number;
  now?: () => Date;
}): WarehouseSystem {
  const now = options.now ?? (() => new Date());
  const doneAt = (realisticMs: number) => new Date(now().getTime() + simulatedDelayMs(realisticMs, options.delayScale));

  return {
    async requestPick(task) {
      const dueAt = doneAt(20 * MINUTE);
      await scheduleDelivery(options.db, {
        dedupeKey: `wms:${task.taskId}`,
        dueAt,
        path: '/warehouse/events',
        body: { taskId: task.taskId, orderId: task.orderId, type: 'pick_completed', at: dueAt.toISOString() },
      });
    },
    async requestWavePick(task) {
      // One picker walks the list; each shipment's tote is done (and reported) as its last line is
      // taken, a few minutes apart, in the order the list reaches them.
      const lastLine = new Map<string, number>();
      task.pickList.flatMap((zone) => zone.lines).forEach((line, index) => lastLine.set(line.shipmentId, index + 1));
      const orderOf = new Map(task.shipments.map((s) => [s.shipmentId, s.orderId]));
      for (const [shipmentId, lines] of lastLine) {
        const dueAt = doneAt(10 * MINUTE + lines * 2 * MINUTE);
        await scheduleDelivery(options.db, {
          dedupeKey: `wms:${task.taskId}:${shipmentId}`,
          dueAt,
          path: '/warehouse/events',
          body: {
            taskId: task.taskId,
            orderId: orderOf.get(shipmentId),
            waveId: task.waveId,
            shipmentId,
            type: 'pick_completed',
            at: dueAt.toISOString(),
          },
        });
      }
    },
    async requestPack(task) {
      const dueAt = doneAt(10 * MINUTE);
      await scheduleDelivery(options.db, {
        dedupeKey: `wms:${task.taskId}`,
        dueAt,
        path: '/warehouse/events',
        body: {
          taskId: task.taskId,
          orderId: task.orderId,
          type: 'pack_completed',
          at: dueAt.toISOString(),
          // A real scale reads a little off; within tolerance.
          measuredWeightGrams: Math.round(task.expectedWeightGrams * 1.02),
        },
      });
    },
    async cancelTask({ idempotencyKey, taskId }) {
      await oncePerKey(options.db, 'wms', idempotencyKey, async (tx) => {
        await cancelDelivery(tx, `wms:${taskId}`);
        return { withdrawn: taskId };
      });
    },
    async expectReturn(task) {
      // The customer drops the parcel off within a couple of days; transit and inspection follow.
      const dueAt = doneAt(3 * DAY);
      await scheduleDelivery(options.db, {
        dedupeKey: `wms:return:${task.returnId}`,
        dueAt,
        path: `/warehouse/returns/${encodeURIComponent(task.returnId)}/receipt`,
        body: { units: task.items.map((item) => ({ ...item, condition: 'resalable' })), at: dueAt.toISOString() },
      });
    },
    async requestReturnToShelf() {
      // Re-shelving needs no answer: the stock count was already corrected by the activity.
    },
  };
}
