import type { Database } from '../db/client.js';
import type { WavePolicy } from '../domain/waves.js';
import type { Carriers, Notifier, PaymentGateway, WarehouseSystem } from './ports.js';

/** Everything activities touch outside the process; the worker wires real ones, tests their own. */
export interface ActivityDependencies {
  db: Database;
  payments: PaymentGateway;
  warehouse: WarehouseSystem;
  carriers: Carriers;
  notifier: Notifier;
  now?: () => Date;
  /** How warehouses release waves (config `waveSettings`); unset: the configuration's defaults. */
  waves?: Omit<WavePolicy, 'timeZone'>;
}
