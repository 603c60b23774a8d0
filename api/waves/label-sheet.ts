import bwipjs from 'bwip-js';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import type { waveLabels } from '../../db/waves.js';

type LabelRow = Awaited<ReturnType<typeof waveLabels>>[number];

/** A 4×6 in thermal label, in points. */
const WIDTH = 288;
const HEIGHT = 432;

/**
 * A wave's label sheet: one 4×6 in page per label, in print order, each with the carrier, service,
 * ship-to address, the shipment and order, and the tracking number as a Code 128 barcode.
 */
export async function labelSheet(waveId: string, labels: LabelRow[]): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  pdf.setTitle(`Labels of wave ${waveId}`);
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  const bold = await pdf.embedFont(StandardFonts.HelveticaBold);
  for (const label of labels) {
    const page = pdf.addPage([WIDTH, HEIGHT]);
    const text = (value: string, x: number, y: number, size = 10, f = font) =>
      page.drawText(ascii(value), { x, y, size, font: f });
    text(`${label.carrier.toUpperCase()} ${label.service}`, 16, HEIGHT - 34, 18, bold);
    text(
      `Wave ${waveId} · #${label.printPosition} · ${label.priority}`.replace('·', '-').replace('·', '-'),
      16,
      HEIGHT - 52,
      9,
    );
    const to = label.shipTo;
    text('SHIP TO', 16, HEIGHT - 80, 8, bold);
    [to.name, to.line1, to.line2 ?? '', `${to.city}, ${to.region} ${to.postalCode}`, to.country]
      .filter(Boolean)
      .forEach((line, i) => text(line, 16, HEIGHT - 96 - i * 14, 12));
    text(`Shipment ${label.shipmentId}  Order ${label.orderId}`, 16, 190, 8);
    text(`Box ${label.box ?? ''}  ${label.weightGrams ?? 0} g`, 16, 176, 8);
    const png = await bwipjs.toBuffer({
      bcid: 'code128',
      text: label.trackingNumber!,
      scale: 2,
      height: 14,
      includetext: true,
      textxalign: 'center',
    });
    const image = await pdf.embedPng(png);
    const scaled = image.scaleToFit(WIDTH - 32, 130);
    page.drawImage(image, { x: (WIDTH - scaled.width) / 2, y: 30, width: scaled.width, height: scaled.height });
  }
  return pdf.save();
}

/** The standard PDF fonts encode WinAnsi only: anything else prints as `?`. */
function ascii(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, '?');
}
