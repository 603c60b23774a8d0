import type { Box, PricedLine } from './order.js';
import { orderWeightGrams } from './pricing.js';

/** The standard boxes every warehouse stocks, smallest first. */
export const BOXES: readonly Box[] = [
  { code: 'S', lengthMm: 250, widthMm: 180, heightMm: 100, maxWeightGrams: 2_000, tareGrams: 150 },
  { code: 'M', lengthMm: 350, widthMm: 250, heightMm: 150, maxWeightGrams: 5_000, tareGrams: 300 },
  { code: 'L', lengthMm: 450, widthMm: 350, heightMm: 250, maxWeightGrams: 12_000, tareGrams: 500 },
  { code: 'XL', lengthMm: 650, widthMm: 450, heightMm: 400, maxWeightGrams: 25_000, tareGrams: 900 },
];

/** Fraction of a box's volume that items can really fill (padding, odd shapes). */
const FILL_FACTOR = 0.8;

/**
 * The smallest standard box that holds the items: every item fits the box's inner dimensions in some
 * orientation, the total volume fits with room for padding, and the weight is within the box's limit.
 * Null when nothing fits (the order then needs a human to pack it specially).
 */
export function chooseBox(lines: readonly PricedLine[]): Box | null {
  const volume = lines.reduce((sum, line) => sum + line.lengthMm * line.widthMm * line.heightMm * line.quantity, 0);
  const weight = orderWeightGrams(lines);
  return (
    BOXES.find((box) => {
      const boxSides = [box.lengthMm, box.widthMm, box.heightMm].sort((a, b) => b - a);
      const itemsFit = lines.every((line) => {
        const sides = [line.lengthMm, line.widthMm, line.heightMm].sort((a, b) => b - a);
        return sides.every((side, i) => side <= (boxSides[i] ?? 0));
      });
      const boxVolume = box.lengthMm * box.widthMm * box.heightMm;
      return itemsFit && volume <= boxVolume * FILL_FACTOR && weight <= box.maxWeightGrams;
    }) ?? null
  );
}

/** The scale may read this much off the expected weight before a pack counts as wrong. */
export const WEIGHT_TOLERANCE = 0.1;

export function packedWeightGrams(lines: readonly PricedLine[], box: Box): number {
  return orderWeightGrams(lines) + box.tareGrams;
}

export function weightWithinTolerance(expectedGrams: number, measuredGrams: number): boolean {
  return Math.abs(measuredGrams - expectedGrams) <= expectedGrams * WEIGHT_TOLERANCE;
}
