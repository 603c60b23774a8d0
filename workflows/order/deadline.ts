import { CancellationScope, sleep } from '@temporalio/workflow';
import type { OrderRecord } from './record.js';

/**
 * One timer kept across the waits that share it, instead of a timer started (and cancelled) by
 * every `condition` with a timeout.
 *
 * - Patch.LoneShipmentInOrder: a parcel's tracking waits for each carrier scan against the same
 *   deadline; a new deadline replaces the timer, and `cancel` takes it back when tracking is over.
 * - Patch.SharedTimerAndWrites (`lazy`): a shipment's every deadline, from its warehouse SLAs to its
 *   delivery promise, shares one timer. A later deadline than the running timer's waits on it, and
 *   when it fires before the deadline it is started again for what is left; an earlier one replaces
 *   it. A parcel picked, packed and delivered before the first SLA would pass starts one timer, not
 *   one per task and one for tracking.
 */
export class DeadlineTimer {
  private scope: CancellationScope | null = null;
  /** When the running timer fires (null: none started, or cancelled). */
  private at: number | null = null;
  private passed = false;

  constructor(private readonly lazy = false) {}

  /**
   * Waits until `until` holds (true) or `deadline` passes (false), after the order writes what it
   * holds. `until` is asked until it first holds, never after (some conditions take what they find).
   */
  async wait(order: OrderRecord, until: () => boolean, deadline: number, summary: string): Promise<boolean> {
    let met = false;
    const done = () => (met ||= until());
    if (!this.lazy) {
      if (deadline !== this.at) this.start(deadline, summary);
      await order.wait(() => done() || this.passed);
      return done();
    }
    for (;;) {
      // No timer for a wait that is over before it starts (an answer already in).
      if (done()) return true;
      if (this.at === null || this.passed || deadline < this.at) this.start(deadline, summary);
      await order.wait(() => done() || this.passed);
      if (met) return true;
      if (Date.now() >= deadline) return false;
    }
  }

  /** Cancels the timer if it is still running (a fired one is left as it is). */
  cancel(): void {
    if (!this.passed) this.scope?.cancel();
    this.scope = null;
    this.at = null;
  }

  private start(deadline: number, summary: string): void {
    this.cancel();
    this.at = deadline;
    this.passed = false;
    // Lazy: shielded from every cancel but its own, for a wait in another scope may be waiting on it.
    const scope = this.lazy
      ? new CancellationScope({ cancellable: true, parent: new CancellationScope({ cancellable: false }) })
      : new CancellationScope();
    this.scope = scope;
    void scope
      .run(() => sleep(Math.max(1, deadline - Date.now()), { summary }))
      .then(
        () => {
          if (this.scope === scope) this.passed = true;
        },
        // Cancelled: a new deadline replaced it, or the waits are over.
        () => undefined,
      );
  }
}
