import type { ReadModelWrite } from '../../activities/read-model.js';
import type { OrderView, OrderWorkflowInput, ShipmentReport } from '../../domain/order.js';
import type { CustomerNotice } from '../outcomes.js';

/**
 * What a lean order holds for its read model between writes (Patch.LeanBookkeeping): whether its
 * view changed since the read model last had it, the notices for the outbox that go with the next
 * view, and the scheduled notices to take back with it. `take` hands it to a write; `putBack`
 * holds again a write whose activity failed.
 */
export class HeldWrite {
  /** The view has changed since the read model last had it. */
  unwritten = false;
  /** Notices for the outbox, written with the next view. */
  readonly notices: CustomerNotice[] = [];
  /** Outbox keys of scheduled notices to take back with the next write (Patch.FeedbackInOutbox). */
  readonly withdrawals: string[] = [];

  constructor(
    private readonly order: OrderWorkflowInput,
    private readonly view: OrderView,
  ) {}

  /** What is held, taken to be written now; null when nothing is. */
  take(): ReadModelWrite | null {
    if (!this.unwritten && this.notices.length === 0 && this.withdrawals.length === 0) return null;
    const notices = this.notices.splice(0);
    const withdraw = this.withdrawals.splice(0);
    this.unwritten = false;
    return {
      order: this.order,
      view: this.view,
      ...(notices.length ? { notices } : {}),
      ...(withdraw.length ? { withdraw } : {}),
    };
  }

  /** A taken write that did not land, held again for the next one (its view is the current one). */
  putBack({ notices = [], withdraw = [] }: ReadModelWrite): void {
    this.unwritten = true;
    this.notices.unshift(...notices);
    this.withdrawals.unshift(...withdraw);
  }
}

/**
 * The order as its only shipment, run inside the order's workflow (Patch.LoneShipmentInOrder),
 * reaches it in process.
 */
export interface OrderInProcess {
  /** Hands the shipment's held reports over: queued for the order's loop, or (Patch.SharedTimerAndWrites) applied at once. */
  take(reports: ShipmentReport[]): void;
  /** Patch.SharedTimerAndWrites: writes what the order holds (the shipment is about to wait). */
  flush(): Promise<void>;
  /** Patch.SharedTimerAndWrites: what the order holds, to ride on the shipment's next activity. */
  readonly held: HeldWrite;
}
