import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import type { NotificationKind } from '../activities/notifications.js';

/** The failure type of a business failure an activity raised, if it was one. */
export function failureType(error: unknown): string | undefined {
  return error instanceof ActivityFailure && error.cause instanceof ApplicationFailure
    ? (error.cause.type ?? undefined)
    : undefined;
}

export function failureMessage(error: unknown): string {
  return error instanceof ActivityFailure ? (error.cause?.message ?? error.message) : String(error);
}

export function formatMoney(minor: number, currency: string): string {
  return `${(minor / 100).toFixed(2)} ${currency}`;
}

export interface CustomerNotice {
  kind: NotificationKind;
  /** Which one, for kinds an order can have several of (a return, a shipment). */
  about?: string;
  subject: string;
  body: string;
  /** Not sent before this (ISO time): a notice scheduled ahead, such as the feedback request. */
  sendAt?: string;
}

/**
 * Unwinds the forward path when the order cannot or must not go on: a cancel, a decline, no stock.
 * Internal control flow only: the workflow always catches it and closes the order.
 */
export class OrderClosing extends Error {
  constructor(
    readonly status: 'cancelled' | 'rejected' | 'payment_failed',
    readonly type: string,
    readonly detail: string,
    readonly notice: CustomerNotice,
  ) {
    super(detail);
  }
}
