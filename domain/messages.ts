import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { OrderView } from './order.js';
import type { CarrierEvent, WarehouseEvent } from './schemas.js';

/** The warehouse finished a pick or pack task (sent by the API's warehouse endpoint). */
export const warehouseEventSignal = defineSignal<[WarehouseEvent]>('warehouseEvent');

/** A carrier reported a tracking event (sent by the API's carrier webhook). */
export const carrierEventSignal = defineSignal<[CarrierEvent]>('carrierEvent');

/** The whole order as the workflow sees it now. */
export const orderViewQuery = defineQuery<OrderView>('orderView');
