import { createHash } from 'node:crypto';
import type { CarrierRate, Carriers, ParcelRequest } from '../activities/ports.js';
import { distanceKm, locateAddress } from '../domain/geo.js';
import type { Database } from '../db/client.js';
import { DAY, HOUR, simulatedDelayMs, wait } from './delays.js';
import { cancelDelivery, scheduleDelivery } from './deliveries.js';

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
 * over the days the service promises.
 */
export function createSimulatedCarriers(options: { db: Database; delayScale: number; now?: () => Date }): Carriers {
  const now = options.now ?? (() => new Date());
  return {
    async rates(parcel) {
      await wait(simulatedDelayMs(200, options.delayScale));
      const kg = Math.max(1, Math.ceil(parcel.weightGrams / 1000));
      const megametres = parcelDistanceKm(parcel) / 1000;
      return Object.entries(CARRIERS).flatMap(([carrier, terms]) =>
        terms.services.map(
          (s): CarrierRate => ({
            carrier,
            service: s.service,
            transitDays: s.transitDays,
            cost: Math.round(s.base + s.perKg * kg + s.perMegametre * megametres),
            currency: 'USD',
          }),
        ),
      );
    },
    async buyLabel(request) {
      await wait(simulatedDelayMs(400, options.delayScale));
      const terms = CARRIERS[request.carrier]?.services.find((s) => s.service === request.service);
      if (!terms) throw new Error(`carrier ${request.carrier} has no service ${request.service}`);
      const digest = createHash('sha256').update(`${request.carrier}:${request.idempotencyKey}`).digest('hex');
      const trackingNumber = `${CARRIERS[request.carrier]!.prefix}${BigInt(`0x${digest.slice(0, 15)}`).toString().padStart(18, '0').slice(0, 18)}`;
      const [rate] = (await this.rates(request)).filter((r) => r.carrier === request.carrier && r.service === request.service);
      return { trackingNumber, cost: rate!.cost };
    },
    async buyReturnLabel({ idempotencyKey }) {
      await wait(simulatedDelayMs(400, options.delayScale));
      const digest = createHash('sha256').update(`return:${idempotencyKey}`).digest('hex');
      return { carrier: 'parcelpost', trackingNumber: `PR${BigInt(`0x${digest.slice(0, 15)}`).toString().padStart(18, '0').slice(0, 18)}` };
    },
    async openTrace({ carrier, trackingNumber }) {
      await wait(simulatedDelayMs(200, options.delayScale));
      // A trace only starts the carrier's search; a found parcel shows up as a later scan.
      return { traceId: `${carrier}-trace-${trackingNumber}` };
    },
    async voidLabel({ trackingNumber }) {
      await wait(simulatedDelayMs(200, options.delayScale));
      // A voided label is never scanned.
      for (const type of ['in_transit', 'out_for_delivery', 'delivered']) await cancelDelivery(options.db, `carrier:${trackingNumber}:${type}`);
    },
    async handOver({ carrier, trackingNumber, service }) {
      const terms = CARRIERS[carrier]?.services.find((s) => s.service === service);
      if (!terms) throw new Error(`carrier ${carrier} has no service ${service}`);
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
        await scheduleDelivery(options.db, {
          dedupeKey: `carrier:${trackingNumber}:${scan.type}`,
          dueAt,
          path: `/carriers/${carrier}/events`,
          body: { trackingNumber, type: scan.type, at: dueAt.toISOString(), location: scan.location },
        });
      }
    },
  };
}
