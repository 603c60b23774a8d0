import {
  OpenApiGeneratorV31,
  OpenAPIRegistry,
  type ResponseConfig,
  type RouteConfig,
} from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { type CallerFailureType, FAILURES, httpProblem } from '../../domain/failures.js';
import { type Operation, ALL_OPERATIONS, IdempotencyKeyHeader, operationFailures } from '../contract.js';
import { Problem } from '../responses.js';

/**
 * The OpenAPI 3.1 document, generated from the contract table (api/contract.ts): the same zod
 * schemas that validate requests, the response schemas, and who may call what. Served at
 * `/openapi.json`; `/docs` renders it.
 */

/** Bumped when the contract changes incompatibly. */
export const API_VERSION = '1.0.0';

const REQUEST_ID_HEADER = {
  description:
    'The request’s ID: the caller’s `X-Request-Id` if it sent a usable one (≤ 100 of `A-Z a-z 0-9 . _ : -`), else a new UUID. Logged with the request.',
  required: true,
  schema: { type: 'string' as const },
};
const requestId = { 'X-Request-Id': { $ref: '#/components/headers/RequestId' } };

/** What a problem status means when the operation's table entry does not say. */
const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'The request is invalid; `errors` names each failing field.',
  403: 'The API key’s role may not call this endpoint.',
  413: 'The body is larger than 64 kB.',
  415: 'The body is not application/json.',
  500: 'Something unforeseen went wrong on our side; it was logged under the request ID.',
  503: 'Temporal did not answer in time; retry after `Retry-After` seconds.',
};

/** A failure's problem as the API answers it, from the catalogue (domain/failures.ts). */
export function problemExample(type: CallerFailureType) {
  const { status, title, exampleDetail } = httpProblem(type);
  const errors =
    type === 'InvalidRequest'
      ? { errors: [{ field: 'items[0].quantity', message: 'Too small: expected number to be >=1' }] }
      : {};
  return { type: 'about:blank', title, status, detail: exampleDetail, ...errors };
}

function headersObject(headers: Record<string, { description: string; required: boolean }>) {
  return {
    ...requestId,
    ...Object.fromEntries(
      Object.entries(headers).map(([name, header]) => [name, { ...header, schema: { type: 'string' as const } }]),
    ),
  };
}

/** A problem status's response: one example per failure type that answers with it. */
function problemResponse(description: string, types: readonly CallerFailureType[]): ResponseConfig {
  const waiting = types.filter((type) => httpProblem(type).retryAfterSeconds !== undefined);
  const retryAfter: Record<string, { description: string; required: boolean }> =
    waiting.length === 0
      ? {}
      : {
          'Retry-After': {
            description: `Seconds to wait before trying again${waiting.length < types.length ? ` (${waiting.join(', ')})` : ''}.`,
            required: waiting.length === types.length,
          },
        };
  const examples = Object.fromEntries(
    types.map((type) => [type, { summary: `${type}: ${FAILURES[type].meaning}`, value: problemExample(type) }]),
  );
  return {
    description,
    headers: headersObject(retryAfter),
    content: { 'application/problem+json': { schema: Problem, examples } },
  };
}

function rolesText(operation: Operation): string {
  const { access } = operation;
  if (access.kind === 'public') return 'No credential needed.';
  if (access.kind === 'carrierSignature')
    return 'Credential: a carrier’s HMAC signature (`X-Timestamp`, `X-Signature`).';
  return `Roles: ${access.roles.map((role) => `\`${role}\``).join(', ')}.`;
}

function routeConfig(operation: Operation): RouteConfig {
  const { access, request } = operation;
  const responses: Record<string, ResponseConfig> = {};
  for (const [status, spec] of Object.entries(operation.responses)) {
    const code = Number(status);
    if (code >= 400 && !spec.schema) continue; // a problem: described below, with its failures

    const content = spec.schema
      ? {
          'application/json': { schema: spec.schema, ...(spec.example === undefined ? {} : { example: spec.example }) },
        }
      : spec.contentType
        ? { [spec.contentType]: { schema: { type: 'string' as const } } }
        : undefined;
    responses[status] = {
      description: spec.description,
      headers: headersObject(spec.headers ?? {}),
      ...(content ? { content } : {}),
      ...(spec.links ? { links: spec.links } : {}),
    };
  }
  const byStatus = new Map<number, CallerFailureType[]>();
  for (const type of operationFailures(operation)) {
    const { status } = httpProblem(type);
    byStatus.set(status, [...(byStatus.get(status) ?? []), type]);
  }
  const descriptions: Record<number, string> = {
    ...PROBLEM_DESCRIPTIONS,
    401:
      access.kind === 'carrierSignature'
        ? 'Missing or bad signature, or a timestamp more than 5 minutes old.'
        : 'No API key, or not a valid one.',
  };
  const reuse =
    'The Idempotency-Key was used for a different request, or its first request is still running (Retry-After).';
  for (const [status, types] of [...byStatus].sort(([a], [b]) => a - b)) {
    let description =
      operation.responses[status]?.description ??
      descriptions[status] ??
      types.map((type) => FAILURES[type].meaning).join(' ');
    if (status === 409 && operation.idempotencyKey === 'replay') {
      description = operation.responses[409]
        ? `${description} Or: ${reuse.charAt(0).toLowerCase()}${reuse.slice(1)}`
        : reuse;
    }
    responses[status] = problemResponse(description, types);
  }

  const headers = operation.idempotencyKey
    ? z.object({ 'Idempotency-Key': IdempotencyKeyHeader.optional() })
    : undefined;
  return {
    method: operation.method,
    path: operation.path,
    operationId: operation.operationId,
    summary: operation.summary,
    description: `${operation.description}\n\n${rolesText(operation)}`,
    tags: [operation.tag],
    security:
      access.kind === 'public'
        ? []
        : access.kind === 'apiKey'
          ? [{ bearerAuth: [] }]
          : [{ carrierTimestamp: [], carrierSignature: [] }],
    'x-roles': access.kind === 'apiKey' ? [...access.roles] : [],
    request: {
      ...(request?.params ? { params: request.params } : {}),
      ...(request?.query ? { query: request.query } : {}),
      ...(headers ? { headers } : {}),
      ...(request?.body
        ? {
            body: {
              required: true,
              content: {
                'application/json': {
                  schema: request.body,
                  ...(request.bodyExample ? { example: request.bodyExample } : {}),
                },
              },
            },
          }
        : {}),
    },
    responses,
  };
}

export function buildOpenApiDocument(operations: readonly Operation[] = ALL_OPERATIONS) {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('headers', 'RequestId', REQUEST_ID_HEADER);
  registry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key from `API_KEYS`, with one of the roles `service`, `support`, `warehouse`, `admin`.',
  });
  registry.registerComponent('securitySchemes', 'carrierTimestamp', {
    type: 'apiKey',
    in: 'header',
    name: 'X-Timestamp',
    description: 'Unix seconds when the carrier signed the webhook.',
  });
  registry.registerComponent('securitySchemes', 'carrierSignature', {
    type: 'apiKey',
    in: 'header',
    name: 'X-Signature',
    description: '`sha256=<hex HMAC-SHA256 of "<X-Timestamp>.<raw body>">`, keyed with `CARRIER_WEBHOOK_SECRET`.',
  });
  for (const operation of operations) registry.registerPath(routeConfig(operation));
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Order fulfillment API',
      version: API_VERSION,
      description:
        'Places and follows orders, each a Temporal workflow; the warehouse and carriers report through it. Every endpoint except `/healthz`, `/openapi.json` and `/docs` needs a credential: `Authorization: Bearer <API key>` (role in `x-roles`), or, for carrier webhooks, an HMAC signature. Errors are `application/problem+json`. Every response carries `X-Request-Id`.',
    },
    tags: [
      { name: 'orders', description: 'Placing, reading, cancelling and retrying orders.' },
      { name: 'returns', description: 'Return authorizations.' },
      { name: 'catalog', description: 'Products and their stock.' },
      { name: 'warehouse', description: 'What the warehouse management system reports.' },
      { name: 'carriers', description: 'Carrier tracking webhooks (signed).' },
      { name: 'inventory', description: 'Stock levels and corrections.' },
      { name: 'reports', description: 'Reports for support.' },
      { name: 'operations', description: 'Health, this document and its docs page.' },
    ],
  });
}

export type OpenApiDocument = ReturnType<typeof buildOpenApiDocument>;

let cached: OpenApiDocument | undefined;

/** The document for every operation, generated once per process. */
export function openApiDocument(): OpenApiDocument {
  cached ??= buildOpenApiDocument();
  return cached;
}
