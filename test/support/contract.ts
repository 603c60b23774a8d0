import { fieldPath } from '../../api/http/problem.js';
import { operationFor } from '../../api/contract.js';
import { openApiDocument } from '../../api/operations/openapi.js';
import { Problem } from '../../api/responses.js';

/**
 * Holds a response to the contract: its status must be one the document lists for the operation,
 * a problem must be `application/problem+json` matching Problem, and a JSON answer must match the
 * operation's response schema. Every request the end-to-end tests send goes through this, so the
 * document cannot drift from what the API really answers.
 */
export function contractViolation(
  method: string,
  url: string,
  status: number,
  contentType: string,
  body: unknown,
): string | null {
  const path = new URL(url, 'http://x').pathname;
  const match = operationFor(method, path);
  if (match === null || 'allowed' in match) return null; // not an operation: the completeness test's business
  const { operation } = match;
  const where = `${method} ${operation.path} → ${status}`;
  const documented = (
    openApiDocument().paths?.[operation.path] as Record<string, { responses: Record<string, unknown> }> | undefined
  )?.[operation.method];
  if (!documented?.responses[String(status)])
    return `${where}: status not in the OpenAPI document (${Object.keys(documented?.responses ?? {}).join(', ')})`;
  if (status >= 400 && !operation.responses[status]?.schema) {
    if (!contentType.startsWith('application/problem+json'))
      return `${where}: expected application/problem+json, got ${contentType}`;
    const parsed = Problem.safeParse(body);
    return parsed.success
      ? null
      : `${where}: not a Problem: ${parsed.error.issues.map((i) => `${fieldPath(i.path)} ${i.message}`).join('; ')}`;
  }
  const schema = operation.responses[status]?.schema;
  if (!schema) return null;
  if (!contentType.startsWith('application/json')) return `${where}: expected application/json, got ${contentType}`;
  const parsed = schema.safeParse(body);
  return parsed.success
    ? null
    : `${where}: response does not match its schema: ${parsed.error.issues.map((i) => `${fieldPath(i.path)} ${i.message}`).join('; ')}`;
}

export function assertConforms(method: string, url: string, status: number, contentType: string, body: unknown): void {
  const violation = contractViolation(method, url, status, contentType, body);
  if (violation) throw new Error(`contract violation: ${violation}`);
}
