import type { Database } from '../db/client.js';
import type { Carriers, Notifier, PaymentGateway, WarehouseSystem } from './ports.js';

/** Everything activities touch outside the process; the worker wires real ones, tests their own. */
export interface ActivityDependencies {
  db: Database;
  payments: PaymentGateway;
  warehouse: WarehouseSystem;
  carriers: Carriers;
  notifier: Notifier;
  now?: () => Date;
}
