/**
 * The failure catalogue: every failure this system names, what it means, whether trying again can
 * help, and the problem+json the API answers with when a caller meets it. Business failures are
 * raised as `ApplicationFailure.nonRetryable(message, type)` with these types (workflows and
 * activities); the API's own refusals are built from them (`problem(type, detail)`), and one mapper
 * (`problemForFailure`, both in api/http/problem.ts) turns a workflow's or activity's failure into
 * its problem. The contract table (api/contract.ts) says which operation can answer which, and the
 * OpenAPI document shows each as an example. Pure and sandbox-safe: workflows import it.
 */

/** What the API answers with: an RFC 9457 problem. */
export interface HttpProblem {
  status: number;
  title: string;
  /** Seconds the caller should wait before trying again (`Retry-After`). */
  retryAfterSeconds?: number;
  /** Appended to the failure's message in `detail` when a workflow or activity raised it. */
  advice?: string;
  /** A typical `detail`, for the OpenAPI example. */
  exampleDetail: string;
}

export interface FailureSpec {
  meaning: string;
  /** Who raises it: an activity, a workflow (an update refusing), or the API itself. */
  raisedBy: readonly ('activity' | 'workflow' | 'api')[];
  /**
   * Whether the same request can succeed later without anyone changing anything. False for every
   * business failure (they are `nonRetryable`): asking again gets the same answer.
   */
  retryable: boolean;
  /**
   * The problem a caller gets, or, for a failure no caller ever sees (the workflow deals with it),
   * null and `handledBy` saying how.
   */
  http: HttpProblem | null;
  handledBy?: string;
  /** Why no operation documents it, for an HTTP problem that no single operation answers. */
  undocumented?: string;
}

export const FAILURES = {
  // --- Raised by activities; the order workflow deals with them, no caller sees them. ---
  PaymentDeclined: {
    meaning: 'The payment gateway declined the authorization.',
    raisedBy: ['activity'],
    retryable: false,
    http: null,
    handledBy: 'The order workflow releases the stock and closes the order as payment_failed; the customer is told.',
  },
  OutOfStock: {
    meaning: 'No warehouse holds every line of the order.',
    raisedBy: ['activity'],
    retryable: false,
    http: null,
    handledBy: 'The backorder policy: wait for a restock (up to BACKORDER_WAIT) or reject the order.',
  },
  UnknownSku: {
    meaning: 'A line names a sku the catalog does not have (it was removed after the API checked).',
    raisedBy: ['activity'],
    retryable: false,
    http: null,
    handledBy: 'The order workflow rejects the order. The API answers 400 for unknown skus before a workflow starts.',
  },
  MixedCurrencies: {
    meaning: 'The order’s products are priced in more than one currency (a catalog mistake).',
    raisedBy: ['activity'],
    retryable: false,
    http: null,
    handledBy: 'The order parks in needs_attention until the catalog is fixed and an operator retries.',
  },
  NoAuthorization: {
    meaning: 'A capture, void or refund for an order whose payment was never authorized.',
    raisedBy: ['activity'],
    retryable: false,
    http: null,
    handledBy: 'The order parks in needs_attention: a human looks at the ledger.',
  },
  NoCarrierService: {
    meaning: 'No carrier service delivers at the order’s shipping speed to its address.',
    raisedBy: ['activity'],
    retryable: false,
    http: null,
    handledBy: 'The order parks in needs_attention until the carriers are configured and an operator retries.',
  },
  UnknownWarehouse: {
    meaning: 'A shipment names a warehouse that is not in the warehouses table.',
    raisedBy: ['activity'],
    retryable: false,
    http: null,
    handledBy: 'The order parks in needs_attention.',
  },
  RefusedByParty: {
    meaning:
      'A payment gateway or carrier refused a request that contradicts what already happened (capture a voided authorization, refund more than was captured, hand over a voided label).',
    raisedBy: ['activity'],
    retryable: false,
    http: null,
    handledBy: 'The order parks in needs_attention: the party’s books and ours disagree and a human settles it.',
  },
  LabelAbandoned: {
    meaning: 'A label purchase for a shipment whose order closed before any label was bought.',
    raisedBy: ['activity'],
    retryable: false,
    http: null,
    handledBy: 'The order is closing anyway: the workflow drops the shipment (a label bought meanwhile was voided).',
  },

  UnknownEncryptionKey: {
    meaning:
      'A payload was encrypted with a key ID that is not in PAYLOAD_ENCRYPTION_KEYS (a key removed too early, or a process started without it).',
    raisedBy: ['activity', 'workflow', 'api'],
    retryable: false,
    http: {
      status: 422,
      title: 'Unknown encryption key',
      exampleDetail: 'payload encrypted with key ID "k2024", which is not in PAYLOAD_ENCRYPTION_KEYS',
      advice: 'Add the key back to PAYLOAD_ENCRYPTION_KEYS (after the first one) and restart.',
    },
    handledBy:
      'An activity whose input cannot be decrypted fails without retrying and the order parks in needs_attention; a workflow task that cannot be decrypted fails and is retried by Temporal. Nothing is lost: put the key back into PAYLOAD_ENCRYPTION_KEYS, restart, and retry the order.',
  },

  // --- Raised by the order workflow's update handlers (and by the API from the read model). ---
  AlreadyShipped: {
    meaning: 'Cancel refused: the parcel has left (a return is possible after delivery).',
    raisedBy: ['workflow'],
    retryable: false,
    http: {
      status: 409,
      title: 'Order has shipped',
      exampleDetail: 'order has shipped and can no longer be cancelled; a return is possible after delivery',
    },
  },
  OrderClosed: {
    meaning: 'Cancel or retry refused: the order is closed or closing.',
    raisedBy: ['workflow', 'api'],
    retryable: false,
    http: { status: 409, title: 'Order is closed', exampleDetail: 'Order demo-1001 is already completed.' },
  },
  CancellationNotAllowed: {
    meaning: 'Cancel refused: this caller may cancel only inside the free-cancel buffer.',
    raisedBy: ['workflow'],
    retryable: false,
    http: {
      status: 403,
      title: 'Cancellation not allowed',
      exampleDetail: 'the free-cancel window has ended; support can still cancel until the parcel ships',
    },
  },
  NothingToRetry: {
    meaning: 'Retry refused: the order is not parked in needs_attention.',
    raisedBy: ['workflow'],
    retryable: false,
    http: {
      status: 409,
      title: 'Nothing to retry',
      exampleDetail: 'order is confirmed, not parked in needs_attention',
    },
  },
  ReturnNotAllowed: {
    meaning: 'Return refused: outside the window, not delivered, or more units than are left to return.',
    raisedBy: ['workflow', 'api'],
    retryable: false,
    http: {
      status: 409,
      title: 'Return not possible',
      exampleDetail: 'Order demo-1001 is completed; its return window is over.',
    },
  },
  ReturnLabelUnavailable: {
    meaning:
      'Return refused for now: no carrier sold a return label. Nothing was claimed; the same request may succeed later.',
    raisedBy: ['workflow'],
    retryable: true,
    http: {
      status: 503,
      title: 'Return label unavailable',
      retryAfterSeconds: 60,
      advice: 'Nothing was claimed; try again later.',
      exampleDetail: 'no return label could be bought: carrier unavailable. Nothing was claimed; try again later.',
    },
  },

  // --- Raised by the API itself. ---
  InvalidRequest: {
    meaning:
      'The request does not match the contract; `errors` names each failing field. The title names what was invalid (`Invalid order`, `Invalid query`, …).',
    raisedBy: ['api'],
    retryable: false,
    http: { status: 400, title: 'Invalid request', exampleDetail: 'One or more fields are invalid.' },
  },
  MalformedJson: {
    meaning: 'The body is not valid JSON.',
    raisedBy: ['api'],
    retryable: false,
    http: { status: 400, title: 'Malformed JSON', exampleDetail: 'The request body is not valid JSON.' },
  },
  Unauthorized: {
    meaning: 'No credential, an unknown API key, or a carrier webhook whose signature or timestamp does not hold.',
    raisedBy: ['api'],
    retryable: false,
    http: { status: 401, title: 'Unauthorized', exampleDetail: 'Send an API key: Authorization: Bearer <key>.' },
  },
  Forbidden: {
    meaning: 'The credential’s role may not call this operation.',
    raisedBy: ['api'],
    retryable: false,
    http: {
      status: 403,
      title: 'Forbidden',
      exampleDetail: 'This credential’s role (warehouse) may not call POST /orders.',
    },
  },
  NotFound: {
    meaning: 'No such order (or warehouse, sku, route).',
    raisedBy: ['api'],
    retryable: false,
    http: { status: 404, title: 'Not found', exampleDetail: 'No order demo-1001.' },
  },
  UnknownTrackingNumber: {
    meaning: 'A carrier reported a tracking number none of our shipments has with that carrier.',
    raisedBy: ['api'],
    retryable: false,
    http: {
      status: 404,
      title: 'Unknown tracking number',
      exampleDetail: 'parcelpost has no shipment PP000123456789012345 with us.',
    },
  },
  UnknownReturn: {
    meaning: 'The warehouse reported a return ID we never authorized.',
    raisedBy: ['api'],
    retryable: false,
    http: { status: 404, title: 'Unknown return', exampleDetail: 'No return demo-1001-r1.' },
  },
  UnknownWave: {
    meaning: 'No wave has this ID (a warehouse answered, or someone asked, for a wave we never released).',
    raisedBy: ['api'],
    retryable: false,
    http: { status: 404, title: 'Unknown wave', exampleDetail: 'No wave wh-east-w42.' },
  },
  MethodNotAllowed: {
    meaning: 'The path exists, but not with this method; `Allow` lists the methods it has.',
    raisedBy: ['api'],
    retryable: false,
    http: { status: 405, title: 'Method not allowed', exampleDetail: 'PUT is not allowed here; use GET, HEAD.' },
    undocumented: 'It answers a method no operation has, so no operation in the document can list it.',
  },
  OrderIdTaken: {
    meaning: 'The order ID is taken by an order with a different request.',
    raisedBy: ['api'],
    retryable: false,
    http: {
      status: 409,
      title: 'Order ID already used',
      exampleDetail: 'Order demo-1001 exists with a different request; use a new orderId.',
    },
  },
  InvalidAddress: {
    meaning:
      'The shipping address cannot exist: a US ZIP code that does not exist or lies in another state, a city that is not the ZIP’s, a postal code of the wrong format for its country. `errors` names each field with a hint. Nothing was started.',
    raisedBy: ['api'],
    retryable: false,
    http: {
      status: 422,
      title: 'Invalid shipping address',
      exampleDetail: 'The shipping address does not match postal data: 94105 is in CA, not NV.',
    },
  },
  IdempotencyKeyReused: {
    meaning: 'The Idempotency-Key was used for a different request.',
    raisedBy: ['api'],
    retryable: false,
    http: {
      status: 409,
      title: 'Idempotency-Key already used',
      exampleDetail: 'This Idempotency-Key was used for a different request; use a new key.',
    },
  },
  RequestInProgress: {
    meaning: 'The first request with this Idempotency-Key is still being handled.',
    raisedBy: ['api'],
    retryable: true,
    http: {
      status: 409,
      title: 'Request in progress',
      retryAfterSeconds: 1,
      exampleDetail: 'A request with this Idempotency-Key is being handled; retry shortly.',
    },
  },
  NotEnoughStock: {
    meaning: 'An inventory adjustment would take reserved or missing units.',
    raisedBy: ['api'],
    retryable: false,
    http: {
      status: 409,
      title: 'Not enough stock',
      exampleDetail:
        '0 units of MUG-CERAMIC at wh-east are available (on hand 2, reserved 2); a delta of -3 would take 3.',
    },
  },
  BodyTooLarge: {
    meaning: 'The body is larger than 64 kB.',
    raisedBy: ['api'],
    retryable: false,
    http: { status: 413, title: 'Body too large', exampleDetail: 'Request bodies are limited to 64 kB.' },
  },
  UnsupportedMediaType: {
    meaning: 'The body is not application/json.',
    raisedBy: ['api'],
    retryable: false,
    http: { status: 415, title: 'Unsupported media type', exampleDetail: 'Send the body as application/json.' },
  },
  TemporalUnavailable: {
    meaning:
      'Temporal did not answer in time; the outcome of a write is unknown, and retrying with the same Idempotency-Key is safe.',
    raisedBy: ['api'],
    retryable: true,
    http: {
      status: 503,
      title: 'Service unavailable',
      retryAfterSeconds: 5,
      exampleDetail: 'The workflow service is not answering; try again shortly.',
    },
  },
  InternalError: {
    meaning: 'Anything unforeseen: logged with the request ID, never shown to the caller.',
    raisedBy: ['api'],
    retryable: false,
    http: { status: 500, title: 'Internal error', exampleDetail: 'Something went wrong on our side; it was logged.' },
  },
} as const satisfies Record<string, FailureSpec>;

export type FailureType = keyof typeof FAILURES;

/** The failure types a caller can meet: those with an HTTP problem. */
export type CallerFailureType = {
  [T in FailureType]: (typeof FAILURES)[T]['http'] extends null ? never : T;
}[FailureType];

/** `FailureType.PaymentDeclined === 'PaymentDeclined'`: the type constants, for `ApplicationFailure.nonRetryable(message, type)`. */
export const FailureType = Object.fromEntries(Object.keys(FAILURES).map((type) => [type, type])) as {
  readonly [T in FailureType]: T;
};

/** The problem a caller meets for this failure. */
export function httpProblem(type: CallerFailureType): HttpProblem {
  return FAILURES[type].http;
}

export function isFailureType(value: unknown): value is FailureType {
  return typeof value === 'string' && Object.hasOwn(FAILURES, value);
}
