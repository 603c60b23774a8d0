import { durationMs } from './durations.js';
import type { ShippingAddress } from './schemas.js';

/**
 * Wave picking, as pure decisions (docs/waves.md): which waiting shipments a warehouse releases to
 * the floor now and when to look again, the batch pick list of a wave, and the order its labels
 * print in. Sandbox-safe: the wave workflow calls these on every turn.
 */

export const shipmentPriorities = ['urgent', 'high', 'normal'] as const;
export type ShipmentPriority = (typeof shipmentPriorities)[number];

export const waveStatuses = ['open', 'released', 'picking', 'picked', 'labelled', 'closed'] as const;
/** `open` collects shipments; `released` to the floor; `picking` the batch task is out; `picked` every shipment answered; `labelled` the batch of labels is bought; `closed` every shipment has its answer. */
export type WaveStatus = (typeof waveStatuses)[number];

/** Why a wave went out: enough shipments, the oldest waited long enough, a carrier's cut-off, or urgent shipments. */
export type WaveReason = 'size' | 'max_wait' | 'cutoff' | 'urgent';

/** How a warehouse releases waves; filled from configuration and the warehouse's time zone. */
export interface WavePolicy {
  /** Release a wave once this many shipments wait (`WAVE_SIZE`); also the most one wave holds. */
  waveSize: number;
  /** Release whatever waits once the oldest has waited this long (`WAVE_MAX_WAIT`, e.g. `15m`). */
  maxWait: string;
  /** Daily cut-off per carrier, warehouse local time `HH:MM` (`CARRIER_CUTOFFS`). */
  cutoffs: Record<string, string>;
  /** How long before a carrier's cut-off its shipments go out whatever their number (`WAVE_CUTOFF_LEAD`). */
  cutoffLead: string;
  /** Urgent shipments go out at once, in a wave of their own (`WAVE_URGENT_ALONE`). */
  urgentAlone: boolean;
  /** IANA time zone of the warehouse, for the cut-offs. */
  timeZone: string;
  /** How long the warehouse has to answer a batch pick for a shipment before it is asked again. */
  pickSla: string;
  /** How many times a batch pick is asked for before the shipment is told the warehouse did not answer. */
  pickAttempts: number;
}

/** What the rule needs of a waiting shipment. */
export interface WaitingShipment {
  shipmentId: string;
  priority: ShipmentPriority;
  carrier: string;
  /** ISO time it became ready to pick. */
  readyAt: string;
}

export interface WaveRelease {
  reason: WaveReason;
  /** In pick priority: urgent first, then the longest waiting. */
  shipmentIds: string[];
}

export interface ReleaseDecision {
  waves: WaveRelease[];
  /** When the rule may release something without a new shipment arriving (ms since epoch); null: only an arrival can. */
  nextCheckAt: number | null;
}

const RANK: Record<ShipmentPriority, number> = { urgent: 0, high: 1, normal: 2 };

/** Pick and print order: priority, then the longest waiting, then the ID (a stable tie-break). */
export function byPriority<T extends Pick<WaitingShipment, 'priority' | 'readyAt' | 'shipmentId'>>(a: T, b: T): number {
  return (
    RANK[a.priority] - RANK[b.priority] ||
    Date.parse(a.readyAt) - Date.parse(b.readyAt) ||
    a.shipmentId.localeCompare(b.shipmentId)
  );
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * What to release now, and when to look next. In this order: urgent shipments alone (if the policy
 * says so); a carrier's shipments once its cut-off is within the lead time; full waves of
 * `waveSize` in priority order; and the rest once the oldest has waited `maxWait`.
 */
export function decideRelease(waiting: readonly WaitingShipment[], now: number, policy: WavePolicy): ReleaseDecision {
  // Sorted once, each time parsed once (the rule runs on every turn of the wave workflow).
  const readyAt = new Map(waiting.map((s) => [s.shipmentId, Date.parse(s.readyAt)]));
  let left = [...waiting].sort(
    (a, b) =>
      RANK[a.priority] - RANK[b.priority] ||
      readyAt.get(a.shipmentId)! - readyAt.get(b.shipmentId)! ||
      a.shipmentId.localeCompare(b.shipmentId),
  );
  const waves: WaveRelease[] = [];
  const release = (reason: WaveReason, chosen: WaitingShipment[]) => {
    for (const chunk of chunks(chosen, policy.waveSize))
      waves.push({ reason, shipmentIds: chunk.map((s) => s.shipmentId) });
    const ids = new Set(chosen.map((s) => s.shipmentId));
    left = left.filter((s) => !ids.has(s.shipmentId));
  };

  if (policy.urgentAlone) {
    const urgent = left.filter((s) => s.priority === 'urgent');
    if (urgent.length) release('urgent', urgent);
  }
  const lead = durationMs(policy.cutoffLead);
  const cutoffAt = new Map<string, number>();
  const carriersWaiting = new Set(left.map((s) => s.carrier));
  for (const carrier of Object.keys(policy.cutoffs).sort()) {
    if (!carriersWaiting.has(carrier)) continue;
    cutoffAt.set(carrier, nextCutoff(now, policy.cutoffs[carrier]!, policy.timeZone));
    if (now >= cutoffAt.get(carrier)! - lead)
      release(
        'cutoff',
        left.filter((s) => s.carrier === carrier),
      );
  }
  while (left.length >= policy.waveSize) release('size', left.slice(0, policy.waveSize));
  const maxWait = durationMs(policy.maxWait);
  const oldest = Math.min(...left.map((s) => readyAt.get(s.shipmentId)!));
  if (left.length && now >= oldest + maxWait) release('max_wait', left);

  if (!left.length) return { waves, nextCheckAt: null };
  const checks = [Math.min(...left.map((s) => readyAt.get(s.shipmentId)!)) + maxWait];
  for (const carrier of new Set(left.map((s) => s.carrier))) {
    const at = cutoffAt.get(carrier);
    if (at !== undefined) checks.push(at - lead);
  }
  return { waves, nextCheckAt: Math.min(...checks) };
}

// --- Carrier cut-offs -------------------------------------------------------------------------

const CUTOFF_ENTRY = /^([a-z0-9][a-z0-9_-]*)=([01]\d|2[0-3]):([0-5]\d)$/;

/**
 * `ups=17:00,fedex=18:00` → `{ ups: '17:00', fedex: '18:00' }`. Throws naming the bad entry: a
 * carrier in lower case, `=`, a 24-hour `HH:MM`; each carrier once. Empty text: no cut-offs.
 */
export function parseCarrierCutoffs(text: string): Record<string, string> {
  const cutoffs: Record<string, string> = {};
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (!entry) continue;
    const match = CUTOFF_ENTRY.exec(entry);
    if (!match) throw new Error(`"${entry}" is not carrier=HH:MM (24-hour, e.g. ups=17:00)`);
    const [, carrier, hours, minutes] = match;
    if (carrier! in cutoffs) throw new Error(`carrier ${carrier} has two cut-offs`);
    cutoffs[carrier!] = `${hours}:${minutes}`;
  }
  return cutoffs;
}

/** Building a formatter is the slow part of a time-zone lookup: one per zone. */
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Minutes the zone is ahead of UTC at `instant`. */
function zoneOffsetMinutes(instant: number, timeZone: string): number {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    });
    formatters.set(timeZone, format);
  }
  const parts = format.formatToParts(new Date(instant));
  const part = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  const local = Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute'));
  return Math.round((local - Math.floor(instant / 60_000) * 60_000) / 60_000);
}

/** The next instant (after `now`) the wall clock in `timeZone` reads `HH:MM`. */
export function nextCutoff(now: number, hhmm: string, timeZone: string): number {
  const [hours, minutes] = hhmm.split(':').map(Number) as [number, number];
  const localNow = new Date(now + zoneOffsetMinutes(now, timeZone) * 60_000);
  for (let day = 0; day <= 2; day++) {
    const wall = Date.UTC(
      localNow.getUTCFullYear(),
      localNow.getUTCMonth(),
      localNow.getUTCDate() + day,
      hours,
      minutes,
    );
    // The offset at the guess, then at the answer (a daylight-saving change between the two).
    let instant = wall - zoneOffsetMinutes(wall, timeZone) * 60_000;
    instant = wall - zoneOffsetMinutes(instant, timeZone) * 60_000;
    if (instant > now) return instant;
  }
  throw new Error(`no cut-off ${hhmm} in ${timeZone} within two days`);
}

// --- The batch pick list ----------------------------------------------------------------------

/** A unit of work on the floor: take `quantity` of `sku` from `bin` for `shipmentId`. */
export interface PickLine {
  zone: string;
  bin: string;
  sku: string;
  quantity: number;
  shipmentId: string;
}

export interface PickZone {
  zone: string;
  lines: PickLine[];
}

/**
 * One walk through the warehouse: zones in name order, each in bin order; lines of one bin in
 * the shipments' pick priority (`shipmentOrder`), so the first tote filled is the most urgent.
 */
export function buildPickList(lines: readonly PickLine[], shipmentOrder: readonly string[]): PickZone[] {
  const position = new Map(shipmentOrder.map((id, i) => [id, i]));
  const sorted = [...lines].sort(
    (a, b) =>
      a.zone.localeCompare(b.zone) ||
      a.bin.localeCompare(b.bin) ||
      (position.get(a.shipmentId) ?? Infinity) - (position.get(b.shipmentId) ?? Infinity) ||
      a.sku.localeCompare(b.sku),
  );
  const zones: PickZone[] = [];
  for (const line of sorted) {
    const last = zones.at(-1);
    if (last?.zone === line.zone) last.lines.push(line);
    else zones.push({ zone: line.zone, lines: [line] });
  }
  return zones;
}

// --- Identity ---------------------------------------------------------------------------------

/** The one wave workflow of a warehouse: it batches shipments and releases waves. */
export function wavesWorkflowId(warehouseId: string): string {
  return `waves-${warehouseId}`;
}

/** A wave: `<warehouseId>-w<n>`, numbered by its warehouse's wave workflow (carried across continue-as-new). */
export function waveIdOf(warehouseId: string, number: number): string {
  return `${warehouseId}-w${number}`;
}

/** The workflow that runs one released wave: pick, labels, answers. */
export function waveWorkflowId(waveId: string): string {
  return `wave-${waveId}`;
}

// --- The protocol between a shipment and its warehouse's waves (workflows/waves-client.ts) --------

export interface ShipmentLine {
  sku: string;
  quantity: number;
}

/** What a warehouse's wave workflow holds now (the `wavesView` query). */
export interface WavesView {
  warehouseId: string;
  /** The wave the waiting shipments will form (`open` in the `waves` table). */
  openWaveId: string;
  waiting: ShipmentReady[];
}

/** A shipment ready to pick, as it joins its warehouse's waves (`shipmentReady` signal). */
export interface ShipmentReady {
  shipmentId: string;
  orderId: string;
  warehouseId: string;
  /** The shipment's workflow: where the wave sends its answers (`waveProgress` signals). */
  workflowId: string;
  priority: ShipmentPriority;
  carrier: string;
  service: string;
  items: ShipmentLine[];
  shipTo: ShippingAddress;
  readyAt: string;
  /** 1 on the first join; a shipment back after a short pick joins again with the next number. */
  attempt: number;
}

/**
 * The waves workflow's answer to a shipment that leaves (`leaveWave` update): it still waited and is
 * out (`left`), or it was already released in wave `waveId`, which goes on with it.
 */
export type WaveLeave = { left: true } | { left: false; waveId: string };

export interface WaveShortage {
  sku: string;
  quantity: number;
  reason: 'missing' | 'damaged';
}

/** A label bought in a wave's batch; `printPosition` is its page on the wave's label sheet (1 = first). */
export interface WaveLabel {
  carrier: string;
  service: string;
  trackingNumber: string;
  /** Minor units. */
  cost: number;
  currency: string;
  box: string;
  weightGrams: number;
  printPosition: number;
}

/**
 * What a wave tells one of its shipments, in this order: `released` (it is in wave `waveId`), then
 * `picked` (with the units the picker could not take, if any) or `not_picked` (the warehouse never
 * answered), then, for a complete pick, `labelled` or `label_failed`.
 */
export type WaveProgress = { shipmentId: string; attempt: number; waveId: string } & (
  | { stage: 'released' }
  | { stage: 'picked'; shortages: WaveShortage[] }
  | { stage: 'not_picked'; reason: string }
  | { stage: 'labelled'; label: WaveLabel }
  | { stage: 'label_failed'; reason: string }
);
