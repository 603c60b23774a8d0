import ms from 'ms';

/** Milliseconds in a duration string such as `20s`, `30m` or `30d`; throws on anything else. */
export function durationMs(duration: string): number {
  const value = ms(duration as ms.StringValue);
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`not a duration: "${duration}" (expected e.g. 20s, 30m, 30d)`);
  }
  return value;
}

export function addDuration(isoTime: string, duration: string): string {
  return new Date(Date.parse(isoTime) + durationMs(duration)).toISOString();
}
