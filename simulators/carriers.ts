import { createHash } from 'node:crypto';
import { and, desc, eq } from 'drizzle-orm';
import {
  type CarrierLabel,
  type CarrierRate,
  type Carriers,
  type ParcelRequest,
  RequestRefusedError,
} from '../activities/ports.js';
import { distanceKm, locateAddress } from '../domain/geo.js';
import type { Database } from '../db/client.js';
import { simulatorLabels } from '../db/schema.js';
import type { Transaction } from '../db/stock.js';
import { oncePerKey, underKey } from './books.js';
import { DAY, HOUR, simulatedDelayMs, wait } from './delays.js';
import { scheduleDelivery } from './deliveries.js';

interface ServiceTerms {
  service: string;
  transitDays: number;
  base: number;
  perKg: number;
  /** Extra per 1000 km. */
  perMegametre: number;
}

/** Three carriers with the usual trade-off: faster costs more, and each is cheapest somewhere. */
const CARRIERS: Record<string, { prefix: string; services: ServiceTerms[] }> = {
  parcelpost: {
    prefix: 'PP',
    services: [
      { service: 'ground', transitDays: 5, base: 420, perKg: 60, perMegametre: 40 },
      { service: 'priority', transitDays: 2, base: 950, perKg: 120, perMegametre: 90 },
    ],
  },
  swiftship: {
    prefix: 'SW',
    services: [
      { service: 'ground', transitDays: 4, base: 510, perKg: 70, perMegametre: 30 },
      { service: 'two_day', transitDays: 2, base: 1100, perKg: 90, perMegametre: 60 },
      { service: 'overnight', transitDays: 1, base: 2400, perKg: 150, perMegametre: 120 },
    ],
  },
  coastline: {
    prefix: 'CL',
    services: [
      { service: 'economy', transitDays: 5, base: 380, perKg: 85, perMegametre: 55 },
      { service: 'express', transitDays: 1, base: 2600, perKg: 110, perMegametre: 80 },
    ],
  },
};

export const CARRIER_NAMES = Object.keys(CARRIERS);

function parcelDistanceKm(parcel: ParcelRequest): number {
  const from = locateAddress(parcel.from);
  const to = locateAddress(parcel.to);
  return from && to ? distanceKm(from, to) : 2000;
}

/**
 * Carriers that rate parcels by weight and distance, sell labels (same idempotency key, same
 * label), and once a parcel is handed over report its scans through `POST /carriers/:carrier/events`
 * over the days the service promises. Like real ones they keep their labels (in the database, by
 * idempotency key): a label handed over cannot be voided, a voided one cannot be handed over, and
 * a trace, void or hand-over asked again under its key changes nothing.
 */
export function createSimulatedCarriers(options: { db: Database; delayScale: number; now?: () => Date }): Carriers {
  const now = options.now ?? (() => new Date());
  const carriers: Carriers = {
    async rates(parcel) {
      await wait(simulatedDelayMs(200, options.delayScale));
      const kg = Math.max(1, Math.ceil(parcel.weightGrams / 1000));
      const megametres = parcelDistanceKm(parcel) / 1000;
      return Object.entries(CARRIERS).flatMap(([carrier, terms]) =>
        terms.services.map((s): CarrierRate => ({
          carrier,
          service: s.service,
          transitDays: s.transitDays,
          cost: Math.round(s.base + s.perKg * kg + s.perMegametre * megametres),
          currency: 'USD',
        })),
      );
    },
    async buyLabel(request) {
      await wait(simulatedDelayMs(400, options.delayScale));
      return sellLabel(request);
    },
    async buyLabels(requests) {
      // One round trip for the batch; each label is sold under its own key.
      await wait(simulatedDelayMs(400 + 50 * requests.length, options.delayScale));
      const labels = [];
      for (const request of requests) labels.push(await sellLabel(request));
      return labels;
    },
    async findLabel({ idempotencyKey }) {
      await wait(simulatedDelayMs(100, options.delayScale));
      // Every carrier is asked; the latest label sold under the key answers.
      const [label] = await options.db
        .select()
        .from(simulatorLabels)
        .where(eq(simulatorLabels.idempotencyKey, idempotencyKey))
        .orderBy(desc(simulatorLabels.at))
        .limit(1);
      if (!label) return null;
      const { carrier, service, trackingNumber, cost, currency, status } = label;
      return { carrier, service, trackingNumber, cost, currency, status: status as CarrierLabel['status'] };
    },
    async buyReturnLabel({ idempotencyKey }) {
      await wait(simulatedDelayMs(400, options.delayScale));
      const digest = createHash('sha256').update(`return:${idempotencyKey}`).digest('hex');
      return {
        carrier: 'parcelpost',
        trackingNumber: `PR${BigInt(`0x${digest.slice(0, 15)}`)
          .toString()
          .padStart(18, '0')
          .slice(0, 18)}`,
      };
    },
    async openTrace({ idempotencyKey, carrier }) {
      await wait(simulatedDelayMs(200, options.delayScale));
      // A trace only starts the carrier's search; a found parcel shows up as a later scan.
      return oncePerKey(options.db, `carrier:${carrier}`, `trace:${idempotencyKey}`, async () => ({
        traceId: `${carrier}-trace-${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 12)}`,
      }));
    },
    async voidLabel({ idempotencyKey, carrier, trackingNumber }) {
      await wait(simulatedDelayMs(200, options.delayScale));
      await oncePerKey(options.db, `carrier:${carrier}`, `void:${idempotencyKey}`, async (tx) => {
        const label = await labelOf(tx, carrier, trackingNumber);
        if (label.status === 'handed_over')
          throw new RequestRefusedError(`label ${trackingNumber} was handed over: the parcel is with ${carrier}`);
        if (label.status === 'sold') await setStatus(tx, trackingNumber, 'voided');
        return { voided: trackingNumber };
      });
    },
    async handOver({ idempotencyKey, carrier, trackingNumber, service }) {
      const terms = CARRIERS[carrier]?.services.find((s) => s.service === service);
      if (!terms) throw new Error(`carrier ${carrier} has no service ${service}`);
      await oncePerKey(options.db, `carrier:${carrier}`, `hand-over:${idempotencyKey}`, async (tx) => {
        const label = await labelOf(tx, carrier, trackingNumber);
        if (label.status === 'voided')
          throw new RequestRefusedError(`label ${trackingNumber} was voided; it cannot be handed over`);
        await setStatus(tx, trackingNumber, 'handed_over');
        await scheduleScans(tx, carrier, trackingNumber, terms);
        return { handedOver: trackingNumber };
      });
    },
  };
  return carriers;

  /** Sells one label under its key: the same key again at the same carrier is the label sold the first time. */
  async function sellLabel(
    request: ParcelRequest & { idempotencyKey: string; carrier: string; service: string },
  ): Promise<{ trackingNumber: string; cost: number }> {
    const terms = CARRIERS[request.carrier]?.services.find((s) => s.service === request.service);
    if (!terms) throw new Error(`carrier ${request.carrier} has no service ${request.service}`);
    const [rate] = (await carriers.rates(request)).filter(
      (r) => r.carrier === request.carrier && r.service === request.service,
    );
    return underKey(options.db, `carrier-label:${request.carrier}:${request.idempotencyKey}`, async (tx) => {
      // The same key again at the same carrier: the label sold the first time. Another carrier
      // knows nothing of this one's keys and sells a label of its own.
      const [sold] = await tx
        .select()
        .from(simulatorLabels)
        .where(
          and(eq(simulatorLabels.carrier, request.carrier), eq(simulatorLabels.idempotencyKey, request.idempotencyKey)),
        );
      if (sold) return { trackingNumber: sold.trackingNumber, cost: sold.cost };
      const digest = createHash('sha256').update(`${request.carrier}:${request.idempotencyKey}`).digest('hex');
      const trackingNumber = `${CARRIERS[request.carrier]!.prefix}${BigInt(`0x${digest.slice(0, 15)}`)
        .toString()
        .padStart(18, '0')
        .slice(0, 18)}`;
      await tx.insert(simulatorLabels).values({
        idempotencyKey: request.idempotencyKey,
        carrier: request.carrier,
        service: request.service,
        trackingNumber,
        cost: rate!.cost,
        currency: rate!.currency,
        status: 'sold',
      });
      return { trackingNumber, cost: rate!.cost };
    });
  }

  /** Schedules the parcel's scans over the days the service promises. */
  async function scheduleScans(
    tx: Transaction,
    carrier: string,
    trackingNumber: string,
    terms: ServiceTerms,
  ): Promise<void> {
    const start = now().getTime();
    const scale = options.delayScale;
    const inTransit = start + simulatedDelayMs(3 * HOUR, scale);
    const outForDelivery = Math.max(inTransit, start + simulatedDelayMs(terms.transitDays * DAY - 8 * HOUR, scale));
    const delivered = outForDelivery + simulatedDelayMs(5 * HOUR, scale);
    const scans = [
      { type: 'in_transit', at: inTransit, location: 'origin sort facility' },
      { type: 'out_for_delivery', at: outForDelivery, location: 'destination delivery station' },
      { type: 'delivered', at: delivered, location: 'front door' },
    ];
    for (const scan of scans) {
      const dueAt = new Date(scan.at);
      await scheduleDelivery(tx, {
        dedupeKey: `carrier:${trackingNumber}:${scan.type}`,
        dueAt,
        path: `/carriers/${carrier}/events`,
        body: { trackingNumber, type: scan.type, at: dueAt.toISOString(), location: scan.location },
      });
    }
  }

  /** A label this carrier sold, locked until the transaction ends; an unknown one is refused. */
  async function labelOf(tx: Transaction, carrier: string, trackingNumber: string) {
    const [label] = await tx
      .select()
      .from(simulatorLabels)
      .where(and(eq(simulatorLabels.carrier, carrier), eq(simulatorLabels.trackingNumber, trackingNumber)))
      .for('update');
    if (!label) throw new RequestRefusedError(`${carrier} sold no label ${trackingNumber}`);
    return label;
  }

  async function setStatus(tx: Transaction, trackingNumber: string, status: CarrierLabel['status']): Promise<void> {
    await tx
      .update(simulatorLabels)
      .set({ status, updatedAt: new Date() })
      .where(eq(simulatorLabels.trackingNumber, trackingNumber));
  }
}
