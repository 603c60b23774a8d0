import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { roles, type Actor, type Role } from '../domain/schemas.js';

/**
 * Credentials: API keys with a role (`API_KEYS`), and the HMAC signature carrier webhooks carry
 * (`CARRIER_WEBHOOK_SECRET`). Below the API because config parses the keys and the simulated
 * carriers sign their webhooks with the same helpers the API verifies them with. Keys are kept
 * only as sha256 digests and compared in constant time; nothing here ever logs or returns a key.
 */

export interface ApiKey {
  /** Who the key belongs to: the actor ID recorded in timelines. Never the key itself. */
  name: string;
  role: Role;
  /** sha256 of the key. */
  digest: Buffer;
}

const KEY_PATTERN = /^[A-Za-z0-9._~+/-]{16,200}$/;
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

export function sha256(value: string | Buffer): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Parses `API_KEYS`: comma-separated entries `key:role`, `name=key:role`, or, so a deployment
 * need not hand out the keys themselves, `name=sha256:<hex digest of the key>:role`. Keys are
 * 16–200 characters of `A-Z a-z 0-9 . _ ~ + / -`. A key without a name acts as `<role>-<first 8
 * hex digits of its sha256>`. Throws with the entry's position, never its text.
 */
export function parseApiKeys(text: string): ApiKey[] {
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  const keys = entries.map((entry, index): ApiKey => {
    const where = `API_KEYS entry ${index + 1}`;
    const colon = entry.lastIndexOf(':');
    if (colon < 0) throw new Error(`${where}: expected key:role or name=key:role`);
    const role = entry.slice(colon + 1) as Role;
    if (!roles.includes(role)) throw new Error(`${where}: role must be one of ${roles.join(', ')}`);
    const credential = entry.slice(0, colon);
    const equals = credential.indexOf('=');
    const name = equals >= 0 ? credential.slice(0, equals) : undefined;
    const secret = equals >= 0 ? credential.slice(equals + 1) : credential;
    if (name !== undefined && !NAME_PATTERN.test(name))
      throw new Error(`${where}: a name is 1-64 letters, digits, ".", "_" or "-"`);
    let digest: Buffer;
    if (DIGEST_PATTERN.test(secret)) digest = Buffer.from(secret.slice('sha256:'.length), 'hex');
    else if (KEY_PATTERN.test(secret)) digest = sha256(secret);
    else throw new Error(`${where}: a key is 16-200 characters of A-Z a-z 0-9 . _ ~ + / - (or sha256:<64 hex digits>)`);
    return { name: name ?? `${role}-${digest.toString('hex').slice(0, 8)}`, role, digest };
  });
  const digests = new Set(keys.map((key) => key.digest.toString('hex')));
  if (digests.size !== keys.length) throw new Error('API_KEYS: the same key appears twice');
  return keys;
}

/**
 * The actor a bearer key stands for, or null. Every configured key is compared (in constant time,
 * over equal-length digests), so the time taken says nothing about which key, if any, matched.
 */
export function authenticateKey(keys: readonly ApiKey[], presented: string): Actor | null {
  const digest = sha256(presented);
  let match: ApiKey | null = null;
  for (const key of keys) {
    if (timingSafeEqual(key.digest, digest) && match === null) match = key;
  }
  return match ? { id: match.name, role: match.role } : null;
}

/** The first key's plain text for a role from an `API_KEYS` value (the simulators' fallback). */
export function firstKeyFor(text: string | undefined, role: Role): string | undefined {
  for (const entry of (text ?? '').split(',').map((e) => e.trim())) {
    const colon = entry.lastIndexOf(':');
    if (colon < 0 || entry.slice(colon + 1) !== role) continue;
    const credential = entry.slice(0, colon);
    const secret = credential.includes('=') ? credential.slice(credential.indexOf('=') + 1) : credential;
    if (KEY_PATTERN.test(secret)) return secret;
  }
  return undefined;
}

/** How old (or how far ahead) a webhook's timestamp may be: older is a replay. */
export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;

/** `sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`, keyed with the shared secret. */
export function webhookSignature(secret: string, timestamp: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

/** The headers a carrier (or our simulated carrier) sends with a webhook body. */
export function signWebhook(
  secret: string,
  body: string,
  now: Date = new Date(),
): { 'x-timestamp': string; 'x-signature': string } {
  const timestamp = String(Math.floor(now.getTime() / 1000));
  return { 'x-timestamp': timestamp, 'x-signature': webhookSignature(secret, timestamp, body) };
}

export type WebhookVerdict = { ok: true } | { ok: false; reason: string };

/** Checks a webhook's signature and its timestamp's freshness; constant time over the signature. */
export function verifyWebhook(
  secret: string,
  headers: { timestamp: string | undefined; signature: string | undefined },
  body: Buffer,
  now: Date = new Date(),
): WebhookVerdict {
  const { timestamp, signature } = headers;
  if (!timestamp || !signature) return { ok: false, reason: 'X-Timestamp and X-Signature headers are required' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'X-Timestamp must be unix seconds' };
  const age = Math.floor(now.getTime() / 1000) - Number(timestamp);
  if (Math.abs(age) > WEBHOOK_TOLERANCE_SECONDS)
    return { ok: false, reason: 'X-Timestamp is more than 5 minutes away from now (a replay?)' };
  const expected = sha256(webhookSignature(secret, timestamp, body));
  if (!timingSafeEqual(expected, sha256(signature)))
    return { ok: false, reason: 'X-Signature does not match the body' };
  return { ok: true };
}
