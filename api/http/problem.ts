import type { ErrorRequestHandler, Response } from 'express';
import {
  ApplicationFailure,
  NamespaceNotFoundError,
  WorkflowNotFoundError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import {
  type CallerFailureType,
  FAILURES,
  type HttpProblem,
  httpProblem,
  isFailureType,
} from '../../domain/failures.js';
import { isDatabaseUnavailable } from '../../db/unavailable.js';
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

/**
 * A problem from the failure catalogue (domain/failures.ts): its status, its title (an invalid
 * request may say what was invalid: `Invalid order`), and `Retry-After` when it has one.
 */
export function problem(
  type: CallerFailureType,
  detail?: string,
  options: { title?: string; errors?: FieldError[]; headers?: Record<string, string> } = {},
): ProblemError {
  const http = httpProblem(type);
  const retryAfter: Record<string, string> =
    http.retryAfterSeconds === undefined ? {} : { 'retry-after': String(http.retryAfterSeconds) };
  return new ProblemError(http.status, options.title ?? http.title, detail, options.errors, {
    ...retryAfter,
    ...options.headers,
  });
}

/**
 * The business failure a Temporal error carries (an update's refusal, an activity's failure), as
 * its catalogue problem; null when it carries none a caller should see.
 */
export function problemForFailure(error: unknown): ProblemError | null {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth += 1) {
    if (!(current instanceof ApplicationFailure) || !isFailureType(current.type)) continue;
    const http: HttpProblem | null = FAILURES[current.type].http;
    if (!http) return null;
    return problem(
      current.type as CallerFailureType,
      http.advice ? `${current.message}. ${http.advice}` : current.message,
    );
  }
  return null;
}

export function fieldErrors(error: z.ZodError, prefix: (string | number)[] = []): FieldError[] {
  return error.issues.map((issue) => ({ field: fieldPath([...prefix, ...issue.path]), message: issue.message }));
}

/** `items[0].sku`, `shippingAddress.country`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${String(part)}` : String(part)),
    '',
  );
}

/** Parses with a zod schema, or throws a 400 naming every bad field. */
export function parseOr400<T extends z.ZodType>(
  schema: T,
  value: unknown,
  what: string,
  prefix: (string | number)[] = [],
): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw problem('InvalidRequest', 'One or more fields are invalid.', {
      title: `Invalid ${what}`,
      errors: fieldErrors(parsed.error, prefix),
    });
  return parsed.data;
}

export function sendProblem(res: Response, problem: ProblemError): void {
  // The reason `/metrics` counts a rejected request under (api/operations/metrics.ts).
  res.locals.problem = problem.title;
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
  // A server restarting on its database cannot load its namespaces for a moment and says the
  // namespace is not found; one that is really missing is an outage of ours too, never the caller's.
  if (error instanceof WorkflowUpdateRPCTimeoutOrCancelledError || error instanceof NamespaceNotFoundError) return true;
  for (
    let current = error, depth = 0;
    current && depth < 5;
    current = (current as { cause?: unknown }).cause, depth += 1
  ) {
    const text = String((current as { message?: string })?.message ?? current);
    const code = (current as { code?: number })?.code;
    // gRPC UNAVAILABLE (14) and DEADLINE_EXCEEDED (4), or a connection that could not be made at all.
    if (
      code === 14 ||
      code === 4 ||
      /UNAVAILABLE|DEADLINE_EXCEEDED|ECONNREFUSED|Failed to connect|deadline/i.test(text)
    )
      return true;
    // An update while the workflow's last task failed or timed out (a worker killed mid-task): the
    // server refuses it (FAILED_PRECONDITION) until the task is retried, seconds later.
    if (code === 9 && /Workflow Task in failed state/i.test(text)) return true;
  }
  return false;
}

/** The one place that maps failures to HTTP, by the catalogue. Never leaks stack traces or internals. */
export function errorHandler(log: (error: unknown, message: string) => void): ErrorRequestHandler {
  return (error, req, res, _next) => {
    if (error instanceof ProblemError) return sendProblem(res, error);
    if (error instanceof WorkflowNotFoundError) return sendProblem(res, problem('NotFound', 'No such order.'));
    const refusal = problemForFailure(error);
    if (refusal) return sendProblem(res, refusal);
    const body = error as { type?: string; status?: number; expose?: boolean };
    if (body.type === 'entity.parse.failed')
      return sendProblem(res, problem('MalformedJson', 'The request body is not valid JSON.'));
    if (body.type === 'entity.too.large') return sendProblem(res, problem('BodyTooLarge'));
    if (body.expose && body.status && body.status < 500)
      return sendProblem(res, new ProblemError(body.status, String((error as Error).message)));
    if (isDatabaseUnavailable(error)) {
      log(error, `Postgres unavailable (request ${String(res.get('x-request-id'))})`);
      return sendProblem(
        res,
        new ProblemError(503, 'Service unavailable', 'The database is not answering; try again shortly.', undefined, {
          'retry-after': '5',
        }),
      );
    }
    if (isTemporalUnavailable(error)) {
      log(error, `Temporal unavailable (request ${String(res.get('x-request-id'))})`);
      return sendProblem(
        res,
        problem('TemporalUnavailable', 'The workflow service is not answering; try again shortly.'),
      );
    }
    log(error, `unhandled error on ${req.method} ${req.path} (request ${String(res.get('x-request-id'))})`);
    sendProblem(res, problem('InternalError', 'Something went wrong on our side; it was logged.'));
  };
}
