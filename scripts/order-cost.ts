import proto from '@temporalio/proto';
import type { temporal } from '@temporalio/proto';

// @temporalio/proto is CommonJS: its namespace comes through the default export under Node's ESM (scripts).
const { temporal: api } = proto;
type History = temporal.api.history.v1.IHistory;
const E = api.api.enums.v1.EventType;

/** What an order cost: its history events and its billable actions, by kind, over its workflows' histories. */
export interface OrderCost {
  events: number;
  actions: number;
  /** Events per history (the order's first, then each shipment's). */
  eventsPerHistory: number[];
  /** Actions by kind, as counted below. */
  actionsByKind: Record<string, number>;
  /** Activities scheduled, by type. */
  activities: Record<string, number>;
  /** Upserts of `TemporalChangeVersion` alone: the server's `action` counter counts them, Cloud does not. */
  changeVersionUpserts: number;
}

/**
 * Counts an order's cost from the histories of its workflows (the order and any shipments that ran
 * as child workflows), the way Temporal Cloud bills actions (docs.temporal.io/cloud/actions):
 * - a workflow started: each history's WorkflowExecutionStarted (the order's by its client, a child
 *   shipment's by its order);
 * - a child workflow: its start is two actions, the start and the execution; the second is counted
 *   at the parent's StartChildWorkflowExecutionInitiated;
 * - an activity: each ActivityTaskScheduled, plus one per retry (an ActivityTaskStarted's attempt − 1);
 * - a timer: each TimerStarted;
 * - a signal: each WorkflowExecutionSignaled, whoever sent it (a warehouse, a carrier, or a shipment
 *   reporting to its order: SignalExternalWorkflowExecutionInitiated is that same signal, not counted again);
 * - a search-attribute upsert: each UpsertWorkflowSearchAttributes, except one that sets only
 *   `TemporalChangeVersion` (a `patched()` writes it; Cloud exempts it);
 * - markers: one for each workflow task that recorded any (local activities, a patch): Cloud bills the
 *   markers of one workflow task as one action;
 * - an update: each WorkflowExecutionUpdateAccepted.
 * Workflow tasks, completions and queries are not actions in a history; they are events.
 */
export function orderCost(histories: History[]): OrderCost {
  const actionsByKind: Record<string, number> = {
    workflowStarted: 0,
    childWorkflows: 0,
    activities: 0,
    activityRetries: 0,
    timers: 0,
    signals: 0,
    upserts: 0,
    markers: 0,
    updates: 0,
  };
  const activities: Record<string, number> = {};
  let changeVersionUpserts = 0;
  const count = (kind: string, n = 1) => (actionsByKind[kind] = (actionsByKind[kind] ?? 0) + n);
  for (const history of histories) {
    const tasksWithMarkers = new Set<string>();
    for (const event of history.events ?? []) {
      switch (event.eventType) {
        case E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
          count('workflowStarted');
          break;
        case E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
          count('childWorkflows');
          break;
        case E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: {
          count('activities');
          const name = event.activityTaskScheduledEventAttributes?.activityType?.name ?? '?';
          activities[name] = (activities[name] ?? 0) + 1;
          break;
        }
        case E.EVENT_TYPE_ACTIVITY_TASK_STARTED:
          count('activityRetries', Math.max(0, (event.activityTaskStartedEventAttributes?.attempt ?? 1) - 1));
          break;
        case E.EVENT_TYPE_TIMER_STARTED:
          count('timers');
          break;
        case E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
          count('signals');
          break;
        case E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: {
          const fields = event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {};
          if (Object.keys(fields).some((key) => key !== 'TemporalChangeVersion')) count('upserts');
          else changeVersionUpserts += 1;
          break;
        }
        case E.EVENT_TYPE_MARKER_RECORDED:
          tasksWithMarkers.add(String(event.markerRecordedEventAttributes?.workflowTaskCompletedEventId));
          break;
        case E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
          count('updates');
          break;
      }
    }
    count('markers', tasksWithMarkers.size);
  }
  const eventsPerHistory = histories.map((h) => h.events?.length ?? 0);
  return {
    events: eventsPerHistory.reduce((a, b) => a + b, 0),
    actions: Object.values(actionsByKind).reduce((a, b) => a + b, 0),
    eventsPerHistory,
    actionsByKind,
    activities,
    changeVersionUpserts,
  };
}
