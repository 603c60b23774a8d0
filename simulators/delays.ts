/**
 * A realistic delay of an external party, scaled by SIM_DELAY_SCALE (0 = at once), with ±20% jitter
 * so simulated parties do not answer in lockstep.
 */
export function simulatedDelayMs(realisticMs: number, scale: number): number {
  if (scale <= 0) return 0;
  const jitter = 0.8 + Math.random() * 0.4;
  return Math.round(realisticMs * scale * jitter);
}

export function wait(delayMs: number): Promise<void> {
  return delayMs > 0 ? new Promise((resolve) => setTimeout(resolve, delayMs)) : Promise.resolve();
}

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
