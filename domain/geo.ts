import { lookup as lookupZip } from 'zipcodes';

/**
 * Where a shipping address is, to find the nearest warehouse and rate a parcel. A US address is
 * located by its ZIP code's coordinates (the `zipcodes` data; the API let only real ZIPs in,
 * domain/address.ts); one whose ZIP is not in the data (an order placed before addresses were
 * checked) by its state's approximate population centre. Elsewhere it has no location and every
 * warehouse counts as equally near. Carries the ZIP database: workflow code never imports it.
 */
export interface LatLon {
  lat: number;
  lon: number;
}

const US_STATES: Record<string, LatLon> = {
  AL: { lat: 32.8, lon: -86.8 },
  AK: { lat: 61.4, lon: -150.0 },
  AZ: { lat: 33.7, lon: -111.9 },
  AR: { lat: 34.9, lon: -92.4 },
  CA: { lat: 35.5, lon: -119.4 },
  CO: { lat: 39.6, lon: -105.0 },
  CT: { lat: 41.6, lon: -72.7 },
  DE: { lat: 39.2, lon: -75.5 },
  DC: { lat: 38.9, lon: -77.0 },
  FL: { lat: 27.8, lon: -81.7 },
  GA: { lat: 33.4, lon: -84.1 },
  HI: { lat: 21.3, lon: -157.8 },
  ID: { lat: 43.9, lon: -116.2 },
  IL: { lat: 41.3, lon: -88.4 },
  IN: { lat: 39.8, lon: -86.3 },
  IA: { lat: 41.9, lon: -93.1 },
  KS: { lat: 38.5, lon: -97.4 },
  KY: { lat: 37.8, lon: -85.2 },
  LA: { lat: 30.7, lon: -91.5 },
  ME: { lat: 44.3, lon: -69.8 },
  MD: { lat: 39.1, lon: -76.8 },
  MA: { lat: 42.3, lon: -71.4 },
  MI: { lat: 42.9, lon: -84.2 },
  MN: { lat: 45.2, lon: -93.6 },
  MS: { lat: 32.6, lon: -89.7 },
  MO: { lat: 38.4, lon: -92.2 },
  MT: { lat: 46.9, lon: -110.5 },
  NE: { lat: 41.1, lon: -97.2 },
  NV: { lat: 37.2, lon: -115.5 },
  NH: { lat: 43.2, lon: -71.5 },
  NJ: { lat: 40.4, lon: -74.4 },
  NM: { lat: 34.6, lon: -106.2 },
  NY: { lat: 41.5, lon: -74.6 },
  NC: { lat: 35.6, lon: -79.4 },
  ND: { lat: 47.4, lon: -99.5 },
  OH: { lat: 40.5, lon: -82.7 },
  OK: { lat: 35.6, lon: -96.9 },
  OR: { lat: 44.7, lon: -122.6 },
  PA: { lat: 40.5, lon: -77.0 },
  RI: { lat: 41.7, lon: -71.5 },
  SC: { lat: 34.0, lon: -81.0 },
  SD: { lat: 43.9, lon: -98.6 },
  TN: { lat: 35.9, lon: -86.4 },
  TX: { lat: 30.9, lon: -97.4 },
  UT: { lat: 40.4, lon: -111.9 },
  VT: { lat: 44.1, lon: -72.7 },
  VA: { lat: 37.8, lon: -77.8 },
  WA: { lat: 47.3, lon: -121.6 },
  WV: { lat: 38.6, lon: -80.6 },
  WI: { lat: 44.3, lon: -89.6 },
  WY: { lat: 42.7, lon: -107.3 },
};

export function locateAddress(address: { country: string; region: string; postalCode?: string }): LatLon | null {
  if (address.country !== 'US') return null;
  const zip = address.postalCode === undefined ? undefined : /^\d{5}/.exec(address.postalCode.trim())?.[0];
  const place = zip === undefined ? undefined : lookupZip(zip);
  if (place) return { lat: place.latitude, lon: place.longitude };
  return US_STATES[address.region.trim().toUpperCase()] ?? null;
}

/** Great-circle distance in kilometres. */
export function distanceKm(a: LatLon, b: LatLon): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.sqrt(h));
}
