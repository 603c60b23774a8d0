import express, { type Request, type RequestHandler } from 'express';
import type { Actor } from '../../domain/schemas.js';
import { setActor, setCaller } from './actor.js';
import { type Operation, operationFor } from '../contract.js';
import { type ApiKey, authenticateKey, verifyWebhook } from '../../platform/credentials.js';
import { problem, type ProblemError } from './problem.js';

export interface AuthSettings {
  apiKeys: readonly ApiKey[];
  carrierWebhookSecret: string;
  now?: () => Date;
}

export const BODY_LIMIT = '64kb';

/** The docs page's assets (`/docs/...`): anyone may read them. */
function isDocsAsset(path: string): boolean {
  return path === '/docs' || path.startsWith('/docs/');
}

function bearerToken(req: Request): string | undefined {
  const header = req.get('authorization');
  const match = header ? /^Bearer[ ]+([^\s]+)\s*$/i.exec(header) : null;
  return match?.[1];
}

function unauthorized(detail: string, error?: 'invalid_token'): ProblemError {
  const challenge = error ? `Bearer realm="orders", error="${error}"` : 'Bearer realm="orders"';
  return problem('Unauthorized', detail, { headers: { 'www-authenticate': challenge } });
}

/** The actor behind the request's API key; throws 401 without a valid one. */
function keyHolder(req: Request, settings: AuthSettings): Actor {
  const token = bearerToken(req);
  if (!token) throw unauthorized('Send an API key: Authorization: Bearer <key>.');
  const actor = authenticateKey(settings.apiKeys, token);
  if (!actor) throw unauthorized('The API key is not valid.', 'invalid_token');
  return actor;
}

const readRawBody = express.raw({ type: () => true, limit: BODY_LIMIT });

/**
 * Carrier webhooks carry an HMAC over the raw body: read it as bytes, check the signature and the
 * timestamp's freshness, then parse the JSON the handler validates.
 */
function verifyCarrierSignature(req: Request, settings: AuthSettings, next: (error?: unknown) => void): void {
  readRawBody(req, req.res!, (error?: unknown) => {
    if (error) return next(error);
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const verdict = verifyWebhook(
      settings.carrierWebhookSecret,
      { timestamp: req.get('x-timestamp'), signature: req.get('x-signature') },
      raw,
      settings.now?.(),
    );
    if (!verdict.ok) return next(problem('Unauthorized', `Carrier webhook refused: ${verdict.reason}.`));
    setCaller(req, `carrier:${req.path.split('/')[2] ?? ''}`);
    if (raw.length === 0) {
      req.body = undefined;
      return next();
    }
    if (!req.is(['application/json', 'application/*+json'])) return next(unsupportedMediaType());
    try {
      req.body = JSON.parse(raw.toString('utf8'));
    } catch {
      return next(problem('MalformedJson', 'The request body is not valid JSON.'));
    }
    next();
  });
}

function unsupportedMediaType(): ProblemError {
  return problem('UnsupportedMediaType', 'Send the body as application/json.');
}

/**
 * Who may call what, from the contract table: no credential → 401, a credential without the
 * role → 403 (both problem+json), a method the path does not have → 405. A path the contract does
 * not know needs a valid key too, so nothing answers an anonymous caller but the public endpoints.
 */
export function accessControl(settings: AuthSettings): RequestHandler {
  return (req, res, next) => {
    if (isDocsAsset(req.path) && req.path !== '/docs') {
      if (req.method === 'GET' || req.method === 'HEAD') return next();
      throw problem('MethodNotAllowed', `${req.method} is not allowed here; use GET, HEAD.`, {
        headers: { allow: 'GET, HEAD' },
      });
    }
    const match = operationFor(req.method, req.path);
    if (match === null) {
      setActor(req, keyHolder(req, settings));
      return next();
    }
    if ('allowed' in match) {
      const allow = [...match.allowed, ...(match.allowed.includes('GET') ? ['HEAD'] : [])].join(', ');
      throw problem('MethodNotAllowed', `${req.method} is not allowed here; use ${allow}.`, { headers: { allow } });
    }
    const { operation } = match;
    res.locals.operation = operation;
    switch (operation.access.kind) {
      case 'public':
        return next();
      case 'carrierSignature':
        return verifyCarrierSignature(req, settings, next);
      case 'apiKey': {
        const actor = keyHolder(req, settings);
        if (!operation.access.roles.includes(actor.role)) {
          throw problem(
            'Forbidden',
            `This credential’s role (${actor.role}) may not call ${operation.method.toUpperCase()} ${operation.path}.`,
          );
        }
        setActor(req, actor);
        return next();
      }
    }
  };
}

/** A body that is not JSON, on an operation that takes one: 415, before anything reads it. */
export const requireJsonBody: RequestHandler = (req, res, next) => {
  const operation = res.locals.operation as Operation | undefined;
  if (operation?.request?.body && req.is(['application/json', 'application/*+json']) === false)
    throw unsupportedMediaType();
  next();
};
