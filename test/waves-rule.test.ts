import { describe, expect, it } from 'vitest';
import {
  buildPickList,
  decideRelease,
  nextCutoff,
  parseCarrierCutoffs,
  type ShipmentPriority,
  type WaitingShipment,
  type WavePolicy,
} from '../domain/waves.js';

/** The wave-release rule and the pick list (domain/waves.ts), as tables. */

const T0 = Date.parse('2026-03-02T12:00:00Z'); // a Monday; 07:00 in New York (EST, UTC-5)
const MIN = 60_000;

const policy: WavePolicy = {
  waveSize: 3,
  maxWait: '15m',
  cutoffs: { ups: '17:00', fedex: '18:00' },
  cutoffLead: '1h',
  urgentAlone: true,
  timeZone: 'America/New_York',
  pickSla: '4h',
  pickAttempts: 3,
};

/** `id:priority:carrier:minutes-ago` (before `now`) → waiting shipments. */
function waiting(spec: string, now = T0): WaitingShipment[] {
  return spec
    .split(' ')
    .filter(Boolean)
    .map((entry) => {
      const [id, priority, carrier, ago] = entry.split(':');
      return {
        shipmentId: id!,
        priority: priority as ShipmentPriority,
        carrier: carrier!,
        readyAt: new Date(now - Number(ago) * MIN).toISOString(),
      };
    });
}

describe('decideRelease: when a warehouse sends a wave to the floor', () => {
  it.each([
    ['nothing waits', '', T0, {}, [], null],
    [
      'fewer than WAVE_SIZE, young: wait for the oldest to reach WAVE_MAX_WAIT',
      'a:normal:dhl:5 b:normal:dhl:1',
      T0,
      {},
      [],
      T0 + 10 * MIN,
    ],
    [
      'WAVE_SIZE wait: a full wave, the oldest first',
      'a:normal:dhl:3 b:normal:dhl:2 c:normal:dhl:1',
      T0,
      {},
      [['size', 'a', 'b', 'c']],
      null,
    ],
    [
      'more than WAVE_SIZE: a full wave by priority, the rest wait',
      'a:normal:dhl:4 b:normal:dhl:3 c:high:dhl:1 d:normal:dhl:0',
      T0,
      {},
      [['size', 'c', 'a', 'b']],
      T0 + 15 * MIN,
    ],
    [
      'the oldest waited WAVE_MAX_WAIT: whatever waits goes',
      'a:normal:dhl:15 b:high:dhl:2',
      T0,
      {},
      [['max_wait', 'b', 'a']],
      null,
    ],
    [
      'urgent alone, at once; the rest keep waiting',
      'a:normal:dhl:2 u:urgent:dhl:0',
      T0,
      {},
      [['urgent', 'u']],
      T0 + 13 * MIN,
    ],
    [
      'urgent waits like the rest when the policy says so',
      'a:normal:dhl:2 u:urgent:dhl:0',
      T0,
      { urgentAlone: false },
      [],
      T0 + 13 * MIN,
    ],
    ['far from cut-offs: the next look is the max wait', 'a:normal:ups:0', T0, {}, [], T0 + 15 * MIN],
    // 16:10 New York time (21:10 UTC): inside the hour before ups' 17:00; fedex (18:00) not yet, b waits its 15 minutes.
    [
      'a carrier within WAVE_CUTOFF_LEAD of its cut-off goes out, however few',
      'a:normal:ups:0 b:normal:fedex:0',
      Date.parse('2026-03-02T21:10:00Z'),
      {},
      [['cutoff', 'a']],
      Date.parse('2026-03-02T21:25:00Z'),
    ],
    [
      'the next look is the cut-off lead when it comes before the max wait',
      'a:normal:ups:0',
      Date.parse('2026-03-02T21:55:00Z') - 60 * MIN,
      {},
      [],
      Date.parse('2026-03-02T21:00:00Z'),
    ],
    [
      'after a cut-off, the carrier waits for tomorrow like any other',
      'a:normal:ups:0',
      Date.parse('2026-03-02T22:30:00Z'),
      {},
      [],
      Date.parse('2026-03-02T22:45:00Z'),
    ],
  ] as const)('%s', (_name, spec, now, overrides, expected, nextCheckAt) => {
    const decision = decideRelease(waiting(spec, now), now, { ...policy, ...overrides });
    expect(decision.waves.map((w) => [w.reason, ...w.shipmentIds])).toEqual(expected);
    expect(decision.nextCheckAt).toBe(nextCheckAt);
  });

  it('splits a release larger than WAVE_SIZE into waves of at most WAVE_SIZE', () => {
    const decision = decideRelease(waiting('a:urgent:x:0 b:urgent:x:1 c:urgent:x:2 d:urgent:x:3'), T0, policy);
    expect(decision.waves.map((w) => w.shipmentIds)).toEqual([['d', 'c', 'b'], ['a']]);
  });
});

describe('carrier cut-offs', () => {
  it.each([
    ['ups=17:00,fedex=18:00', { ups: '17:00', fedex: '18:00' }],
    [' ups=07:30 , ', { ups: '07:30' }],
    ['', {}],
  ])('parses %j', (text, expected) => {
    expect(parseCarrierCutoffs(text)).toEqual(expected);
  });

  it.each([
    ['ups=5pm', /"ups=5pm" is not carrier=HH:MM/],
    ['ups=24:00', /not carrier=HH:MM/],
    ['ups', /not carrier=HH:MM/],
    ['UPS=17:00', /not carrier=HH:MM/],
    ['ups=17:00,ups=18:00', /ups has two cut-offs/],
  ])('refuses %j', (text, message) => {
    expect(() => parseCarrierCutoffs(text)).toThrow(message);
  });

  it.each([
    [
      'before today’s cut-off: today, local time',
      '2026-03-02T12:00:00Z',
      '17:00',
      'America/New_York',
      '2026-03-02T22:00:00.000Z',
    ],
    ['after it: tomorrow', '2026-03-02T22:30:00Z', '17:00', 'America/New_York', '2026-03-03T22:00:00.000Z'],
    [
      'across the spring-forward night (EDT, UTC-4)',
      '2026-03-07T23:00:00Z',
      '17:00',
      'America/New_York',
      '2026-03-08T21:00:00.000Z',
    ],
    ['another zone', '2026-03-02T12:00:00Z', '17:00', 'America/Los_Angeles', '2026-03-03T01:00:00.000Z'],
    ['UTC', '2026-03-02T12:00:00Z', '11:59', 'UTC', '2026-03-03T11:59:00.000Z'],
  ])('%s', (_name, now, hhmm, zone, expected) => {
    expect(new Date(nextCutoff(Date.parse(now), hhmm, zone)).toISOString()).toBe(expected);
  });
});

describe('buildPickList: one walk over the floor', () => {
  it('groups by zone in order, bins ascending, and a shared bin in pick priority', () => {
    const list = buildPickList(
      [
        { zone: 'B', bin: 'B-02-01', sku: 'MUG', quantity: 1, shipmentId: 's2' },
        { zone: 'A', bin: 'A-03-01', sku: 'TEE', quantity: 2, shipmentId: 's1' },
        { zone: 'B', bin: 'B-01-01', sku: 'BOOK', quantity: 1, shipmentId: 's1' },
        { zone: 'B', bin: 'B-02-01', sku: 'MUG', quantity: 3, shipmentId: 's1' },
        { zone: 'A', bin: 'A-01-01', sku: 'CAP', quantity: 1, shipmentId: 's2' },
      ],
      ['s2', 's1'],
    );
    expect(list.map((z) => [z.zone, z.lines.map((l) => `${l.bin} ${l.sku}×${l.quantity} → ${l.shipmentId}`)])).toEqual([
      ['A', ['A-01-01 CAP×1 → s2', 'A-03-01 TEE×2 → s1']],
      ['B', ['B-01-01 BOOK×1 → s1', 'B-02-01 MUG×1 → s2', 'B-02-01 MUG×3 → s1']],
    ]);
  });
});
