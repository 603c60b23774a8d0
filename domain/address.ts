import { validate as validatePostalCode } from 'postal-codes-js';
import { lookup as lookupZip, states as usStates } from 'zipcodes';
import type { ShippingAddress } from './schemas.js';

/**
 * Whether a shipping address can exist, checked against real postal data before an order starts,
 * so no label is ever bought for it. US addresses: the ZIP code must exist (the `zipcodes` data)
 * and lie in the given state; the city must be the ZIP's own, matched leniently (case, spacing,
 * punctuation, accents, "St"/"Saint"); the state becomes its two-letter code, the ZIP five digits
 * (ZIP+4 dropped), the city the ZIP's spelling. Other countries: the postal code's format for that
 * country (`postal-codes-js`). Pure, but it carries the ZIP database: the API and the activities
 * use it, workflow code never imports it (the workflow bundle stays small; test/bundle.test.ts).
 */

export interface AddressProblem {
  /** The field within the address: `postalCode`, `region`, `city`, `country`. */
  field: keyof ShippingAddress;
  /** What is wrong, with a hint at what would be right ("94105 is in CA, not NV"). */
  message: string;
}

export type AddressCheck = { ok: true; address: ShippingAddress } | { ok: false; problems: AddressProblem[] };

const US_ZIP = /^(\d{5})(?:-?\d{4})?$/;

export function checkShippingAddress(address: ShippingAddress): AddressCheck {
  return address.country === 'US' ? checkUsAddress(address) : checkForeignAddress(address);
}

function checkUsAddress(address: ShippingAddress): AddressCheck {
  const zipText = address.postalCode.trim();
  const zipMatch = US_ZIP.exec(zipText);
  if (!zipMatch) return fail('postalCode', `${zipText} is not a US ZIP code: 5 digits, or ZIP+4 such as 94105-1234`);
  const zip = zipMatch[1]!;
  const place = lookupZip(zip);
  if (!place) return fail('postalCode', `ZIP code ${zip} does not exist`);
  const state = usStateCode(address.region);
  if (state !== place.state)
    return fail('postalCode', `${zip} is in ${place.state}, not ${address.region.trim()}`, 'region');
  if (cityKey(address.city) !== cityKey(place.city))
    return fail('city', `${zip} is ${place.city}, ${place.state}, not ${address.city.trim()}`);
  return { ok: true, address: { ...address, city: place.city, region: place.state, postalCode: zip } };
}

function checkForeignAddress(address: ShippingAddress): AddressCheck {
  const postalCode = address.postalCode.trim().toUpperCase().replace(/\s+/g, ' ');
  const verdict = validatePostalCode(address.country, postalCode);
  if (verdict === true) return { ok: true, address: { ...address, postalCode } };
  const unknownCountry = /country code/i.test(String(verdict));
  return unknownCountry
    ? fail('country', `${address.country} is not a country we know (ISO 3166-1 alpha-2, e.g. "US")`)
    : fail('postalCode', `${postalCode} is not a postal code of ${address.country}`);
}

/**
 * A wrong state is reported on both fields: either may be the mistake, and the hint names the
 * ZIP's state.
 */
function fail(field: AddressProblem['field'], message: string, alsoField?: AddressProblem['field']): AddressCheck {
  return {
    ok: false,
    problems: [{ field, message }, ...(alsoField ? [{ field: alsoField, message }] : [])],
  };
}

/** `ca`, `CA`, `California` → `CA`; anything else upper-cased as it is (and then wrong). */
function usStateCode(region: string): string {
  const text = region.trim().toUpperCase().replace(/\s+/g, ' ');
  return usStates.full[text] ?? text;
}

const CITY_WORDS: Record<string, string> = { st: 'saint', ste: 'sainte', ft: 'fort', mt: 'mount', pt: 'point' };

/** `St. Louis`, `saint  louis`, `SAINT-LOUIS` → `saint louis`; accents dropped (`Cañon` = `Canon`). */
function cityKey(city: string): string {
  return city
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim()
    .split(' ')
    .map((word) => CITY_WORDS[word] ?? word)
    .join(' ');
}
