import type { Config } from '../../config/index.js';
import type { OrderPolicy } from '../../domain/order.js';

/** The policy new orders get, from configuration. */
export function orderPolicyFrom(settings: Config): OrderPolicy {
  return {
    cancellationBuffer: settings.CANCELLATION_BUFFER,
    returnWindow: settings.RETURN_WINDOW,
    warehouseTaskSla: settings.WAREHOUSE_TASK_SLA,
    warehouseTaskAttempts: settings.WAREHOUSE_TASK_ATTEMPTS,
    deliveryGrace: settings.DELIVERY_GRACE,
    backorderPolicy: settings.BACKORDER_POLICY,
    backorderWait: settings.BACKORDER_WAIT,
    partialFulfillment: settings.PARTIAL_FULFILLMENT,
    backorderRetryInterval: settings.BACKORDER_RETRY_INTERVAL,
    deliveryExceptionWait: settings.DELIVERY_EXCEPTION_WAIT,
    deliveryExceptionPolicy: settings.DELIVERY_EXCEPTION_POLICY,
    returnShippingWindow: settings.RETURN_SHIPPING_WINDOW,
    feedbackDelay: settings.FEEDBACK_DELAY,
    highValueOrder: settings.HIGH_VALUE_ORDER,
    wavePicking: settings.WAVE_PICKING,
  };
}
