import { CancellationScope, sleep } from '@temporalio/workflow';
import type { OrderRecord } from './record.js';

/**
 * One timer for one deadline, kept across the waits that share it (Patch.LoneShipmentInOrder): a
 * parcel's tracking waits for each carrier scan against the same promise, and `condition` with a
 * timeout would start (and cancel) a timer for every scan. A new deadline replaces the timer;
 * `cancel` takes it back when the waits are over.
 */
export class DeadlineTimer {
  private scope: CancellationScope | null = null;
  private at: number | null = null;
  private passed = false;

  constructor(private readonly summary: (deadline: number) => string) {}

  /** Waits until `until` holds (true) or `deadline` passes (false), after the order writes what it holds. */
  async wait(order: OrderRecord, until: () => boolean, deadline: number): Promise<boolean> {
    if (deadline !== this.at) this.start(deadline);
    await order.wait(() => until() || this.passed);
    return until();
  }

  /** Cancels the timer if it is still running (a fired one is left as it is). */
  cancel(): void {
    if (!this.passed) this.scope?.cancel();
    this.scope = null;
    this.at = null;
  }

  private start(deadline: number): void {
    this.cancel();
    this.at = deadline;
    this.passed = false;
    const scope = new CancellationScope();
    this.scope = scope;
    void scope
      .run(() => sleep(Math.max(1, deadline - Date.now()), { summary: this.summary(deadline) }))
      .then(
        () => {
          if (this.scope === scope) this.passed = true;
        },
        // Cancelled: a new deadline replaced it, or the waits are over.
        () => undefined,
      );
  }
}
