import type { Box } from '../domain/order.js';
import type { ActivityDependencies } from './deps.js';
import type { WarehouseLine } from './ports.js';

/** Hands tasks to the warehouse; it reports them done through the API, which signals the workflow. */
export function createWarehouseActivities({ warehouse }: ActivityDependencies) {
  return {
    async requestPick(task: { taskId: string; orderId: string; warehouseId: string; lines: WarehouseLine[] }): Promise<void> {
      await warehouse.requestPick(task);
    },
    async requestPack(task: {
      taskId: string;
      orderId: string;
      warehouseId: string;
      lines: WarehouseLine[];
      box: Box;
      expectedWeightGrams: number;
    }): Promise<void> {
      await warehouse.requestPack(task);
    },
    async expectReturnParcel(task: { returnId: string; orderId: string; warehouseId: string; items: WarehouseLine[] }): Promise<void> {
      await warehouse.expectReturn(task);
    },
    async cancelWarehouseTask(task: { taskId: string }): Promise<void> {
      await warehouse.cancelTask(task);
    },
    async requestReturnToShelf(task: { taskId: string; orderId: string; warehouseId: string; lines: WarehouseLine[]; unpack: boolean }): Promise<void> {
      await warehouse.requestReturnToShelf(task);
    },
  };
}
