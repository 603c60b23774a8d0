/**
 * What a closing order undoes, and in which order. Money comes first: the customer's card matters
 * most and a refund or void depends on nobody else. Then the warehouse's open tasks are withdrawn,
 * so nobody picks or packs what is being put back; then the unused label is voided; then picked
 * (or packed) units go back on the shelf; the reservation is released last. Within a phase the
 * newest effect is undone first.
 */
export const UNDO_PHASES = ['money', 'warehouse_tasks', 'label', 'shelf', 'reservation'] as const;
export type UndoPhase = (typeof UNDO_PHASES)[number];

export function undoSequence<T extends { phase: UndoPhase }>(registered: readonly T[]): T[] {
  return registered
    .map((undo, index) => ({ undo, index }))
    .sort((a, b) => UNDO_PHASES.indexOf(a.undo.phase) - UNDO_PHASES.indexOf(b.undo.phase) || b.index - a.index)
    .map(({ undo }) => undo);
}
