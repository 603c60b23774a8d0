import type { ErrorRequestHandler, Response } from 'express';
import { ApplicationFailure, WorkflowNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { FailureType } from '../domain/errors.js';
import { type z } from 'zod';

export interface FieldError {
  field: string;
  message: string;
}

/** An error the API answers with as `application/problem+json` (RFC 9457). */
export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
    readonly errors?: FieldError[],
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? title);
  }
}

export function fieldErrors(error: z.ZodError, prefix: (string | number)[] = []): FieldError[] {
  return error.issues.map((issue) => ({ field: fieldPath([...prefix, ...issue.path]), message: issue.message }));
}

/** `items[0].sku`, `shippingAddress.country`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${String(part)}` : String(part)), '');
}

/** Parses with a zod schema, or throws a 400 naming every bad field. */
export function parseOr400<T extends z.ZodType>(schema: T, value: unknown, what: string, prefix: (string | number)[] = []): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ProblemError(400, `Invalid ${what}`, 'One or more fields are invalid.', fieldErrors(parsed.error, prefix));
  return parsed.data;
}

export function sendProblem(res: Response, problem: ProblemError): void {
  res
    .status(problem.status)
    .set({ 'content-type': 'application/problem+json', ...problem.headers })
    .send(
      JSON.stringify({
        type: 'about:blank',
        title: problem.title,
        status: problem.status,
        ...(problem.detail ? { detail: problem.detail } : {}),
        ...(problem.errors ? { errors: problem.errors } : {}),
      }),
    );
}

/**
 * The client wraps the gRPC error (`ServiceError: Failed to signal Workflow`, cause `DEADLINE_EXCEEDED`): look down the chain.
 * An update whose call ran out of time may end `CANCELLED` rather than `DEADLINE_EXCEEDED`; either
 * way its outcome is unknown and the caller should retry (with its Idempotency-Key, the same update).
 */
function isTemporalUnavailable(error: unknown): boolean {
  if (error instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return true;
  for (let current = error, depth = 0; current && depth < 5; current = (current as { cause?: unknown }).cause, depth += 1) {
    const text = String((current as { message?: string })?.message ?? current);
    const code = (current as { code?: number })?.code;
    // gRPC UNAVAILABLE (14) and DEADLINE_EXCEEDED (4), or a connection that could not be made at all.
    if (code === 14 || code === 4 || /UNAVAILABLE|DEADLINE_EXCEEDED|ECONNREFUSED|Failed to connect|deadline/i.test(text)) return true;
  }
  return false;
}

/**
 * Postgres not answering: a connection refused, closed under a query, or a server shutting down or
 * starting (SQLSTATE 57P01-57P03, class 08). Momentary, like Temporal's: 503, not 500.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 5; current = (current as { cause?: unknown }).cause, depth += 1) {
    const code = String((current as { code?: unknown })?.code ?? '');
    if (/^(CONNECTION_(CLOSED|ENDED|DESTROYED)|CONNECT_TIMEOUT|ECONNREFUSED|ECONNRESET|EPIPE|57P0[123]|08...)$/.test(code)) return true;
  }
  return false;
}

/** HTTP statuses of the business failures a workflow update can refuse with. */
const UPDATE_REFUSALS: Partial<Record<string, { status: number; title: string }>> = {
  [FailureType.AlreadyShipped]: { status: 409, title: 'Order has shipped' },
  [FailureType.OrderClosed]: { status: 409, title: 'Order is closed' },
  [FailureType.CancellationNotAllowed]: { status: 403, title: 'Cancellation not allowed' },
  [FailureType.NothingToRetry]: { status: 409, title: 'Nothing to retry' },
};

/** The one place that maps failures to HTTP. Never leaks stack traces or internals. */
export function errorHandler(log: (error: unknown, message: string) => void): ErrorRequestHandler {
  return (error, req, res, _next) => {
    if (error instanceof ProblemError) return sendProblem(res, error);
    if (error instanceof WorkflowNotFoundError) return sendProblem(res, new ProblemError(404, 'Not found', 'No such order.'));
    if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) {
      const refusal = UPDATE_REFUSALS[error.cause.type ?? ''];
      if (refusal) return sendProblem(res, new ProblemError(refusal.status, refusal.title, error.cause.message));
    }
    const body = error as { type?: string; status?: number; expose?: boolean };
    if (body.type === 'entity.parse.failed') return sendProblem(res, new ProblemError(400, 'Malformed JSON', 'The request body is not valid JSON.'));
    if (body.type === 'entity.too.large') return sendProblem(res, new ProblemError(413, 'Body too large'));
    if (body.expose && body.status && body.status < 500) return sendProblem(res, new ProblemError(body.status, String((error as Error).message)));
    if (isDatabaseUnavailable(error)) {
      log(error, `Postgres unavailable (request ${String(res.get('x-request-id'))})`);
      return sendProblem(res, new ProblemError(503, 'Service unavailable', 'The database is not answering; try again shortly.', undefined, { 'retry-after': '5' }));
    }
    if (isTemporalUnavailable(error)) {
      log(error, `Temporal unavailable (request ${String(res.get('x-request-id'))})`);
      return sendProblem(res, new ProblemError(503, 'Service unavailable', 'The workflow service is not answering; try again shortly.', undefined, { 'retry-after': '5' }));
    }
    log(error, `unhandled error on ${req.method} ${req.path} (request ${String(res.get('x-request-id'))})`);
    sendProblem(res, new ProblemError(500, 'Internal error', 'Something went wrong on our side; it was logged.'));
  };
}
