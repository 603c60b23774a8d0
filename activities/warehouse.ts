import type { ActivityDependencies } from './deps.js';
import type { WarehouseSystem } from './ports.js';

type TaskOf<K extends keyof WarehouseSystem> = Parameters<WarehouseSystem[K]>[0];

/** Hands tasks to the warehouse; it reports them done through the API, which signals the workflow. */
export function createWarehouseActivities({ warehouse }: ActivityDependencies) {
  return {
    async requestPick(task: TaskOf<'requestPick'>): Promise<void> {
      await warehouse.requestPick(task);
    },
    async requestPack(task: TaskOf<'requestPack'>): Promise<void> {
      await warehouse.requestPack(task);
    },
    async expectReturnParcel(task: TaskOf<'expectReturn'>): Promise<void> {
      await warehouse.expectReturn(task);
    },
    /** Withdraws a task; the key is the task's (order + step, e.g. `<orderId>-pick-1`) plus `:cancel`. */
    async cancelWarehouseTask(task: { taskId: string }): Promise<void> {
      await warehouse.cancelTask({ idempotencyKey: `${task.taskId}:cancel`, taskId: task.taskId });
    },
    async requestReturnToShelf(task: TaskOf<'requestReturnToShelf'>): Promise<void> {
      await warehouse.requestReturnToShelf(task);
    },
  };
}
