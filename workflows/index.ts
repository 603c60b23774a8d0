// The one workflowsPath of the worker: every workflow type the order engine runs.
export { orderWorkflow } from './order.js';
export { reconcileOrdersWorkflow } from './reconcile.js';
export { shipmentWorkflow } from './shipment.js';
