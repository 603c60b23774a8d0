import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ApplicationFailure, METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import { FailureType } from '../domain/failures.js';

// CommonJS: its namespace is a property of the default export under Node's ESM loader.
const { temporal } = proto;

/**
 * Customer data never reaches Temporal in clear: every payload (workflow and activity inputs and
 * results, signals, updates, memos, failure details) is encrypted with AES-256-GCM by the client
 * and the worker before it leaves the process, and decrypted when it comes back. After Temporal's
 * encryption sample (samples-typescript/encryption): the whole payload, metadata included, is
 * serialized and encrypted; the outer payload says `binary/encrypted` and names the key ID.
 *
 * Keys rotate: `PAYLOAD_ENCRYPTION_KEYS` lists `id:base64key` entries, the first encrypts and every
 * one decrypts, so a new key goes first and the old ones stay until no history needs them.
 * Payloads without the encrypted encoding (histories recorded before encryption) pass through.
 */

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const METADATA_KEY_ID = 'encryption-key-id';
/** Which cipher, so another one can be introduced later without guessing from the bytes. */
export const METADATA_CIPHER = 'encryption-cipher';
const CIPHER = 'AES-256-GCM';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export interface EncryptionKey {
  id: string;
  /** 32 bytes. */
  key: Buffer;
}

/**
 * Parses `PAYLOAD_ENCRYPTION_KEYS`: comma-separated `id:base64key` entries, each key 32 bytes
 * (`openssl rand -base64 32`). Throws naming the entry's position, never its text (it holds a key).
 */
export function parseEncryptionKeys(text: string): EncryptionKey[] {
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  const keys = entries.map((entry, index): EncryptionKey => {
    const where = `entry ${index + 1}`;
    const colon = entry.indexOf(':');
    if (colon < 0) throw new Error(`${where}: expected id:base64key`);
    const id = entry.slice(0, colon);
    if (!KEY_ID_PATTERN.test(id)) throw new Error(`${where}: a key ID is 1-64 letters, digits, ".", "_" or "-"`);
    const encoded = entry.slice(colon + 1);
    const key = Buffer.from(encoded, 'base64');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || key.length !== 32)
      throw new Error(`${where}: the key must be 32 bytes in base64 (openssl rand -base64 32)`);
    return { id, key };
  });
  if (new Set(keys.map((key) => key.id)).size !== keys.length) throw new Error('the same key ID appears twice');
  return keys;
}

/** A fresh key entry for development (`npm start`): `dev-<date>:<32 random bytes, base64>`. */
export function generateEncryptionKey(now = new Date()): string {
  return `dev-${now.toISOString().slice(0, 10).replaceAll('-', '')}:${randomBytes(32).toString('base64')}`;
}

const utf8 = (bytes: Uint8Array | null | undefined) => (bytes ? Buffer.from(bytes).toString('utf8') : undefined);

export class EncryptionCodec implements PayloadCodec {
  private readonly byId: Map<string, Buffer>;

  /** `keys[0]` encrypts unless `encrypt` is false (encryption switched off: old payloads still decrypt). */
  constructor(
    private readonly keys: readonly EncryptionKey[],
    private readonly encrypt = true,
  ) {
    if (encrypt && keys.length === 0) throw new Error('an encrypting codec needs a key');
    this.byId = new Map(keys.map((entry) => [entry.id, entry.key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const current = this.keys[0];
    if (!this.encrypt || !current) return payloads;
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', current.key, iv);
      // The key ID is authenticated too: moving a ciphertext under another ID fails to decrypt.
      cipher.setAAD(Buffer.from(current.id));
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: {
          [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING),
          [METADATA_KEY_ID]: Buffer.from(current.id),
          [METADATA_CIPHER]: Buffer.from(CIPHER),
        },
        data: sealed,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (utf8(payload.metadata?.[METADATA_ENCODING_KEY]) !== ENCRYPTED_ENCODING) return payload;
      const keyId = utf8(payload.metadata?.[METADATA_KEY_ID]);
      const key = keyId === undefined ? undefined : this.byId.get(keyId);
      if (!key) {
        // Not retryable by itself: only an operator adding the key back to PAYLOAD_ENCRYPTION_KEYS helps.
        throw ApplicationFailure.nonRetryable(
          `payload encrypted with key ID "${keyId ?? '(none)'}", which is not in PAYLOAD_ENCRYPTION_KEYS`,
          FailureType.UnknownEncryptionKey,
        );
      }
      const data = Buffer.from(payload.data ?? []);
      if (data.length < IV_BYTES + TAG_BYTES) throw new Error(`encrypted payload (key ID "${keyId}") is truncated`);
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(keyId!));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      } catch {
        throw new Error(`encrypted payload (key ID "${keyId}") failed authentication: altered or a different key`);
      }
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}
