import type { Request, RequestHandler, Response } from 'express';
import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { callerId } from './actor.js';
import { IdempotencyKeyHeader, type Operation } from '../contract.js';
import { parseOr400, problem } from './problem.js';
import { requestHash } from '../orders/request-hash.js';

/**
 * `Idempotency-Key` for the mutating endpoints that have no business key of their own (cancel,
 * retry, warehouse and carrier events, returns): the first response to a key is stored, and the
 * same key again from the same caller to the same endpoint with the same body answers it, marked
 * `Idempotent-Replayed: true`. Another body under the key is a 409; a replay while the first
 * request still runs is a 409 with Retry-After. Responses to malformed requests (400, 413, 415)
 * and server failures (5xx) are not kept, so a fixed or later retry runs for real: a 503 deletes its
 * claim before it is sent, so the retry reaches the handler, and a workflow update run under the
 * key's update ID (`updateIdFor`) attaches to the update the first try began.
 * (`POST /orders` is idempotent by `orderId`; inventory adjustments keep the key with the movement.)
 *
 * Keys live 24 hours in `api_idempotency_keys` (db/schema.ts).
 */

const RETENTION = sql`interval '24 hours'`;
/** A claim older than this is from a process that died mid-request; the key may be used again. */
const STALE_CLAIM = sql`interval '2 minutes'`;
const NOT_KEPT = new Set([400, 413, 415]);
/** Response headers a replay repeats (the request ID is the replay's own). */
const REPLAYED_HEADERS = ['content-type', 'location', 'retry-after'];

type StoredResponse = {
  request_hash: string;
  status: number | null;
  headers: Record<string, string> | null;
  body: string | null;
};

export function idempotency(db: Database, log: (error: unknown, message: string) => void): RequestHandler {
  let lastSweep = 0;

  /** Stores what the handler answers before it goes out, so a replay can never see less. */
  function recordResponse(res: Response, scope: string, key: string): void {
    const send = res.send.bind(res);
    res.send = ((body?: unknown) => {
      res.send = send;
      const status = res.statusCode;
      const keep = typeof body === 'string' && status < 500 && !NOT_KEPT.has(status);
      const headers = Object.fromEntries(
        REPLAYED_HEADERS.flatMap((name) => (res.get(name) ? [[name, res.get(name)!]] : [])),
      );
      const done = keep
        ? db.execute(sql`update api_idempotency_keys set status = ${status}, headers = ${JSON.stringify(headers)}::jsonb, body = ${body}
                         where scope = ${scope} and key = ${key}`)
        : db.execute(sql`delete from api_idempotency_keys where scope = ${scope} and key = ${key} and status is null`);
      done.catch((error: unknown) => log(error, 'could not record an idempotent response')).finally(() => send(body));
      return res;
    }) as Response['send'];
  }

  return async (req, res, next) => {
    const operation = res.locals.operation as Operation | undefined;
    const header = req.get('idempotency-key');
    if (operation?.idempotencyKey !== 'replay' || header === undefined) return next();
    const key = parseOr400(IdempotencyKeyHeader, header, 'Idempotency-Key header', ['Idempotency-Key']);
    const scope = `${callerId(req)} ${req.method} ${req.path}`;
    const hash = requestHash(req.body ?? null);
    if (Date.now() - lastSweep > 60_000) {
      lastSweep = Date.now();
      await db.execute(sql`delete from api_idempotency_keys where created_at < now() - ${RETENTION}`);
    }

    const claimed = await db.execute(sql`
      insert into api_idempotency_keys (scope, key, request_hash) values (${scope}, ${key}, ${hash})
      on conflict do nothing returning key`);
    if (claimed.length === 1) {
      recordResponse(res, scope, key);
      return next();
    }

    const [stored] = (await db.execute<StoredResponse>(sql`
      select request_hash, status, headers, body from api_idempotency_keys where scope = ${scope} and key = ${key}`)) as unknown as StoredResponse[];
    if (!stored)
      throw problem('RequestInProgress', 'A request with this Idempotency-Key is being handled; retry shortly.');
    if (stored.request_hash !== hash) {
      throw problem('IdempotencyKeyReused', 'This Idempotency-Key was used for a different request; use a new key.', {
        errors: [{ field: 'Idempotency-Key', message: 'already used for a different request' }],
      });
    }
    if (stored.status === null) {
      const reclaimed = await db.execute(sql`
        update api_idempotency_keys set created_at = now()
        where scope = ${scope} and key = ${key} and status is null and created_at < now() - ${STALE_CLAIM} returning key`);
      if (reclaimed.length === 1) {
        recordResponse(res, scope, key);
        return next();
      }
      throw problem('RequestInProgress', 'A request with this Idempotency-Key is being handled; retry shortly.');
    }
    res
      .status(stored.status)
      .set({ ...(stored.headers ?? {}), 'idempotent-replayed': 'true' })
      .send(stored.body ?? '');
  };
}

/**
 * The workflow update ID for a request's `Idempotency-Key`, so the same caller's retry of the same
 * request attaches to the first update and gets its outcome, even when the middleware above has
 * nothing to replay (a 503 is not kept, and the first update may still be running). Scoped by
 * operation, caller and body: two callers' keys never meet, and a key reused for another body is
 * another update. Without a key there is none: every request is an update of its own.
 */
export function updateIdFor(req: Request, operationId: string): string | undefined {
  const key = req.get('idempotency-key');
  if (key === undefined) return undefined;
  return `${operationId}-${requestHash({ caller: callerId(req), key, body: req.body ?? null })}`;
}
