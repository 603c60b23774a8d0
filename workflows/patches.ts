/**
 * Every change of workflow commands since the first release, by the ID its `patched()` call
 * records. Orders whose history predates a change replay the old branch; new ones take the new.
 * Each is called where the two paths part, so a running order gets the fix from that point on
 * when its history allows it. Remove a branch (`deprecatePatch`, then delete) only once no open
 * order predates it: see docs/operations.md.
 */
export const Patch = {
  /** Cancel in Temporal Web is an admin's cancel: same rules, same undos; it used to skip them. */
  OperatorCancel: 'operator-cancel-runs-undos',
  /** Undos run money first, each on its own with bounded retries; a failed one parks the order. */
  UndoMoneyFirst: 'undo-money-first-each-on-its-own',
  /** A restock is never lost: the flag resets before each attempt, and a timer retries the reservation. */
  RestockNeverLost: 'restock-never-lost',
  /** A warehouse answer that fails its check is asked for again at once, not after the SLA. */
  RejectedTaskAskedAgainAtOnce: 'rejected-task-asked-again-at-once',
  /**
   * The order plans its shipments (domain/allocation.ts), captures each one's share and runs each as
   * a child workflow `shipment-<orderId>-<n>`; before, one parcel from one warehouse ran inside it.
   */
  ShipmentsAsChildWorkflows: 'shipments-as-child-workflows',
  /**
   * A return window that ends while a signal's handler is not yet counted as finished waits for the
   * handler, not for the feedback timer (which, longer than the window, left the order in delivered).
   */
  ReturnWindowClosesWithItsHandlers: 'return-window-closes-with-its-handlers',
  /**
   * A shipment (with `WAVE_PICKING` on) joins its warehouse's waves instead of a pick task of its
   * own, and takes its label from the wave's batch instead of buying one (docs/waves.md).
   */
  ShipmentsPickedInWaves: 'shipments-picked-in-waves',
  /**
   * A cancelled shipment leaves its waves by asking the waves workflow (the `leaveWaves` activity,
   * a `leaveWave` update) and undoes what the wave did for it if the answer names a wave; before, it
   * signalled `leaveWave` and listened 10 s for a release that might have crossed it.
   */
  WaveLeaveAnswered: 'wave-leave-answered',
  /**
   * An order writes its milestones, timeline and notices in one read-model activity before each wait
   * (notices into the outbox in the same transaction) and upserts `OrderStatus` only when it changes;
   * a shipment sends its reports in one signal before each wait. See "The cost of an order" in docs/design.md.
   */
  LeanBookkeeping: 'lean-bookkeeping',
  /**
   * A lean order (implied: a new order records this marker only) schedules its feedback request in
   * the outbox at delivery (sent by the dispatcher when due, withdrawn if every unit comes back
   * first) instead of a timer and a write of its own; prices, reserves and authorizes in one
   * activity (`quoteReserveAndAuthorize`); and writes its read model before a wait as a local
   * activity (one marker, no workflow task of its own). See "The cost of an order" in docs/design.md.
   */
  FeedbackInOutbox: 'feedback-in-outbox',
  /**
   * An order whose plan is one shipment (implied: a new order records this marker only, and it
   * implies Patch.FeedbackInOutbox) runs that shipment inside its own workflow, not as a child:
   * the same steps, keys and reports, without a second workflow, its start and its report signals.
   * Split orders still run each shipment as a child. A parcel's tracking (in the order or a child)
   * keeps one timer per deadline across the carrier's scans instead of one per scan. See "The cost
   * of an order" in docs/design.md.
   */
  LoneShipmentInOrder: 'lone-shipment-in-order',
  /**
   * A shipment's deadlines share one timer (implied: a new order records this marker only, and it
   * implies Patch.LoneShipmentInOrder): each warehouse task's SLA and the parcel's delivery promise
   * wait on the timer already running when their deadline is later, and it is started again for
   * what is left when it fires first (workflows/order/deadline.ts). Before, every warehouse task
   * started and cancelled a timer of its own, and tracking another. A shipment inside its order's
   * workflow also has its pick's and hand-over's activities write the order's held view, so the
   * waits after them write nothing. See "The cost of an order" in docs/design.md.
   */
  SharedTimerAndWrites: 'shared-timer-and-writes',
} as const;
