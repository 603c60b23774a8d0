import { log } from '@temporalio/workflow';
import type { ShipmentView } from '../../domain/order.js';
import type { WaveShortage } from '../../domain/waves.js';
import { shipmentWaveSteps } from '../proxies.js';
import { joinWave, type WaveAssignment, withdrawFromWave } from '../waves-client.js';
import type { Order, Undo } from './state.js';

/**
 * Histories from before Patch.WaveLeaveAnswered only: how long a cancelled shipment that signalled
 * its leave listened for a release that crossed it. Now the waves workflow's answer says.
 */
const LEAVE_GRACE_MS = 10_000;

/**
 * A shipment's pick and label in its warehouse's waves (Patch.ShipmentsPickedInWaves, docs/waves.md):
 * it chooses its carrier service, joins the waves (`joinWave`), waits for the batch pick's answer
 * for it, and after a whole pick takes its label from the wave's batch. Until the label is its own,
 * its undo is to leave the waves, or, once released, to undo what the wave did for it (void the
 * label, put the units back); after, it is `voidWaveLabel`.
 */
export class WavePick {
  private assignment: WaveAssignment | null = null;
  private transitDays = 0;
  /** The shipment took the wave's pick answer: from there its own undos put the units back. */
  private pickTaken = false;
  private readonly leave: Undo = { name: 'leave the wave', phase: 'label', run: (act) => this.withdraw(act) };

  constructor(private readonly order: Order) {}

  /**
   * Joins the waves and answers the warehouse's batch pick for this shipment (its shortages, if
   * any). A warehouse that never answered parks the shipment, as for a pick task of its own; an
   * operator's retry joins again.
   */
  async pick(): Promise<{ shortages: WaveShortage[] }> {
    const { order } = this;
    const { orderId, request } = order;
    for (;;) {
      const warehouseId = order.warehouseId!;
      const items = order.warehouseLines();
      const choice = await order.runStep('choose the carrier service', () =>
        shipmentWaveSteps.rateWaveShipment({
          warehouseId,
          shippingAddress: request.shippingAddress,
          shippingSpeed: request.shippingSpeed,
          items,
        }),
      );
      this.transitDays = choice.transitDays;
      if (!order.undo.includes(this.leave)) order.undo.push(this.leave);
      this.pickTaken = false;
      // A wave may keep it waiting for minutes: what it holds for its order goes out first (lean).
      await order.flush();
      const assignment = await order.runStep('wait for a wave', () =>
        joinWave({
          shipmentId: order.owner,
          orderId,
          warehouseId,
          priority: order.input.priority ?? 'normal',
          carrier: choice.carrier,
          service: choice.service,
          items,
          shipTo: request.shippingAddress,
        }),
      );
      this.assignment = assignment;
      order.waveId = assignment.waveId;
      const answer = await order.runStep('wait for the wave pick', () => assignment.picked());
      this.pickTaken = true;
      if (answer.picked) return { shortages: answer.shortages };
      await order.park(`wave ${assignment.waveId}: ${answer.reason}`);
    }
  }

  /**
   * The label the wave bought for this shipment, recorded as its label (number `number`); null if
   * the wave's batch failed, and the shipment buys its own.
   */
  async label(number: number): Promise<ShipmentView | null> {
    const { order } = this;
    const { waveId } = this.assignment!;
    const shipmentId = order.owner;
    await order.flush();
    const result = await order.runStep('wait for the wave label', () => this.assignment!.labelled());
    const at = order.undo.indexOf(this.leave);
    if (!result.labelled) {
      log.warn('the wave could not label the shipment; it buys its own', { shipmentId, waveId, reason: result.reason });
      if (at >= 0) order.undo.splice(at, 1);
      return null;
    }
    const voidLabel: Undo = {
      name: 'void the wave label',
      phase: 'label',
      run: async () => {
        const { voided } = await shipmentWaveSteps.voidWaveLabel({ waveId, shipmentId });
        if (!voided) return null;
        order.parcel = null;
        return `voided label ${voided}`;
      },
    };
    if (at >= 0) order.undo.splice(at, 1, voidLabel);
    else order.undo.push(voidLabel);
    const { label } = result;
    return order.runStep('record the wave label', () =>
      shipmentWaveSteps.recordWaveLabel({
        orderId: order.orderId,
        shipmentNumber: number,
        waveId,
        transitDays: this.transitDays,
        label,
      }),
    );
  }

  /** The undo of a join: leave, or undo what the wave did for a shipment that no longer wants it. */
  private async withdraw(act: Parameters<Undo['run']>[0]): Promise<string | null> {
    const { order } = this;
    const warehouseId = order.warehouseId!;
    const shipmentId = order.owner;
    const out = await withdrawFromWave({ warehouseId, shipmentId }, LEAVE_GRACE_MS);
    if (!out) return null;
    if (out.left) return `left the waves of ${warehouseId}`;
    const done: string[] = [];
    if (out.label?.labelled) {
      const { voided } = await shipmentWaveSteps.voidWaveLabel({ waveId: out.waveId, shipmentId });
      if (voided) done.push(`voided label ${voided}`);
    }
    if (out.pick.picked && !this.pickTaken) {
      // The floor picked for a shipment cancelled meanwhile: what it took goes back (the reservation is released by its own undo).
      const short = new Map(out.pick.shortages.map((s) => [s.sku, s.quantity]));
      const lines = order
        .warehouseLines()
        .map((line) => ({ ...line, quantity: line.quantity - (short.get(line.sku) ?? 0) }))
        .filter((line) => line.quantity > 0);
      if (lines.length) {
        await act.requestReturnToShelf({
          taskId: `${shipmentId}-reshelve-${out.waveId}`,
          orderId: order.orderId,
          warehouseId,
          lines,
          unpack: false,
        });
        done.push(`re-shelved wave ${out.waveId}'s pick`);
      }
    }
    return done.length ? done.join('; ') : `left wave ${out.waveId}`;
  }
}
