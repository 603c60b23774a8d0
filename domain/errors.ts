/**
 * Failure types of intentional, non-retryable business failures
 * (`ApplicationFailure.nonRetryable(message, type)`). The API maps them to HTTP statuses.
 */
export const FailureType = {
  PaymentDeclined: 'PaymentDeclined',
  OutOfStock: 'OutOfStock',
  UnknownSku: 'UnknownSku',
  NoCarrierService: 'NoCarrierService',
} as const;

export type FailureType = (typeof FailureType)[keyof typeof FailureType];
