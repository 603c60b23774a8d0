/**
 * Failure types of intentional, non-retryable business failures
 * (`ApplicationFailure.nonRetryable(message, type)`). The API maps them to HTTP statuses.
 */
export const FailureType = {
  PaymentDeclined: 'PaymentDeclined',
  OutOfStock: 'OutOfStock',
  UnknownSku: 'UnknownSku',
  NoCarrierService: 'NoCarrierService',
  /** Cancel refused: the parcel has left (a return is possible after delivery). */
  AlreadyShipped: 'AlreadyShipped',
  /** Cancel or retry refused: the order is closed or closing. */
  OrderClosed: 'OrderClosed',
  /** Cancel refused: this caller may cancel only inside the free-cancel buffer. */
  CancellationNotAllowed: 'CancellationNotAllowed',
  /** Retry refused: the order is not parked. */
  NothingToRetry: 'NothingToRetry',
  /** Return refused: outside the window, not delivered, or more units than are left to return. */
  ReturnNotAllowed: 'ReturnNotAllowed',
  /** Return refused for now: no carrier sold a return label; nothing was claimed, ask again later. */
  ReturnLabelUnavailable: 'ReturnLabelUnavailable',
  /**
   * A payment gateway or carrier refused a request that contradicts what already happened
   * (capture a voided authorization, refund more than was captured, hand over a voided label).
   */
  RefusedByParty: 'RefusedByParty',
  /** A label purchase for a shipment whose order closed before any label was bought. */
  LabelAbandoned: 'LabelAbandoned',
} as const;

export type FailureType = (typeof FailureType)[keyof typeof FailureType];
