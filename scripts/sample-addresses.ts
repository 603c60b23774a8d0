/**
 * Real US places (city, state, ZIP as the postal data has them) for the orders the bench, chaos and
 * demo scripts place: POST /orders refuses an address whose ZIP does not exist or lies elsewhere.
 */
export const SAMPLE_PLACES = [
  { city: 'Seattle', region: 'WA', postalCode: '98101' },
  { city: 'San Francisco', region: 'CA', postalCode: '94105' },
  { city: 'Dallas', region: 'TX', postalCode: '75201' },
  { city: 'New York', region: 'NY', postalCode: '10001' },
  { city: 'Miami', region: 'FL', postalCode: '33101' },
  { city: 'Chicago', region: 'IL', postalCode: '60601' },
  { city: 'Boston', region: 'MA', postalCode: '02108' },
  { city: 'Reno', region: 'NV', postalCode: '89501' },
  { city: 'Newark', region: 'NJ', postalCode: '07102' },
] as const;

export type SamplePlace = (typeof SAMPLE_PLACES)[number];
