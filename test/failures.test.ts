import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ApplicationFailure, WorkflowUpdateFailedError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { ALL_OPERATIONS, operationFailures } from '../api/contract.js';
import { problem, problemForFailure } from '../api/http/problem.js';
import { buildOpenApiDocument, problemExample } from '../api/operations/openapi.js';
import { type CallerFailureType, FAILURES, type FailureType, httpProblem } from '../domain/failures.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const types = Object.keys(FAILURES) as FailureType[];
const callerTypes = types.filter((type) => FAILURES[type].http !== null) as CallerFailureType[];

type Responses = Record<string, { content?: Record<string, { examples?: Record<string, { value: unknown }> }> }>;
const document = buildOpenApiDocument();
const responsesOf = (path: string, method: string) =>
  (document.paths?.[path] as Record<string, { responses: Responses }>)[method]!.responses;

/** Source files under a folder, recursively. */
function sources(folder: string): string[] {
  return readdirSync(`${root}${folder}`, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => `${folder}/${file}`);
}

describe('the failure catalogue', () => {
  it.each(types)('%s says what it means, whether retrying helps, and what a caller gets or who handles it', (type) => {
    const spec = FAILURES[type] as (typeof FAILURES)[FailureType] & { handledBy?: string };
    expect(spec.meaning.length).toBeGreaterThan(10);
    expect(typeof spec.retryable).toBe('boolean');
    expect(spec.raisedBy.length).toBeGreaterThan(0);
    if (spec.http === null) expect(spec.handledBy, `${type} reaches no caller: say who handles it`).toBeTruthy();
    else expect(spec.http.status).toBeGreaterThanOrEqual(400);
  });

  it('names every failure type the code raises', () => {
    const raised = ['activities', 'workflows', 'domain', 'api'].flatMap(sources).flatMap((file) => {
      const text = readFileSync(`${root}${file}`, 'utf8');
      return [...text.matchAll(/nonRetryable\([^;]*?,\s*'(\w+)'\)/g), ...text.matchAll(/FailureType\.(\w+)/g)].map(
        (match) => match[1]!,
      );
    });
    expect(raised.length).toBeGreaterThan(10);
    expect(raised.filter((type) => !(type in FAILURES))).toEqual([]);
  });

  it('is the only source of the API’s problems: no route builds one by hand', () => {
    const byHand = sources('api').filter(
      (file) => file !== 'api/http/problem.ts' && readFileSync(`${root}${file}`, 'utf8').includes('new ProblemError('),
    );
    expect(byHand).toEqual([]);
  });

  it.each(callerTypes)(
    '%s appears as an example in the OpenAPI responses of every operation that can answer it',
    (type) => {
      const { status } = httpProblem(type);
      const operations = ALL_OPERATIONS.filter((operation) => operationFailures(operation).includes(type));
      if ('undocumented' in FAILURES[type]) {
        expect(operations).toEqual([]);
        return;
      }
      expect(operations.length, `no operation in api/contract.ts answers ${type}`).toBeGreaterThan(0);
      for (const operation of operations) {
        const examples = responsesOf(operation.path, operation.method)[String(status)]?.content?.[
          'application/problem+json'
        ]?.examples;
        expect(examples?.[type]?.value, `${operation.operationId} ${status}`).toEqual(problemExample(type));
      }
    },
  );

  it.each(callerTypes)('%s becomes its problem: status, title and Retry-After from the catalogue', (type) => {
    const http = httpProblem(type);
    const answer = problem(type, 'why');
    expect([answer.status, answer.title, answer.detail]).toEqual([http.status, http.title, 'why']);
    expect(answer.headers['retry-after']).toBe(
      http.retryAfterSeconds === undefined ? undefined : String(http.retryAfterSeconds),
    );
  });
});

describe('the failure mapper', () => {
  const refused = (type: string, message = 'order is already closing') =>
    new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.nonRetryable(message, type));

  it('answers an update refused with a catalogued failure with its problem, the failure’s message as detail', () => {
    const answer = problemForFailure(refused('OrderClosed'));
    expect(answer && { status: answer.status, title: answer.title, detail: answer.detail }).toEqual({
      status: 409,
      title: 'Order is closed',
      detail: 'order is already closing',
    });
  });

  it('adds the catalogue’s advice and Retry-After (a return label no carrier sold)', () => {
    const answer = problemForFailure(
      refused('ReturnLabelUnavailable', 'no return label could be bought: carrier down'),
    );
    expect(answer?.status).toBe(503);
    expect(answer?.detail).toBe('no return label could be bought: carrier down. Nothing was claimed; try again later.');
    expect(answer?.headers['retry-after']).toBe('60');
  });

  it('leaves failures no caller should see, and unknown types, to the 500 handler', () => {
    expect(problemForFailure(refused('PaymentDeclined'))).toBeNull();
    expect(problemForFailure(refused('SomethingNew'))).toBeNull();
    expect(problemForFailure(new Error('boom'))).toBeNull();
  });
});
