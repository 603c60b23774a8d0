import { ApplicationFailure, defaultPayloadConverter, type Payload } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { payloadDataConverter } from '../config/temporal.js';
import { ConfigurationError, parseConfig } from '../config/index.js';
import {
  ENCRYPTED_ENCODING,
  EncryptionCodec,
  generateEncryptionKey,
  METADATA_KEY_ID,
  parseEncryptionKeys,
} from '../platform/payload-codec.js';

const key = (id: string, byte: number) => ({ id, key: Buffer.alloc(32, byte) });
const customer = { email: 'ada@example.com', name: 'Ada Lovelace', street: '12 Analytical Row' };
const payloadOf = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const valueOf = (payload: Payload): unknown => defaultPayloadConverter.fromPayload(payload);
const text = (payload: Payload) => Buffer.from(payload.data ?? []).toString('latin1');

describe('the payload encryption codec', () => {
  it('encrypts every payload with the first key, names the key, and decrypts it back', async () => {
    const codec = new EncryptionCodec([key('k2', 2), key('k1', 1)]);
    const [sealed] = await codec.encode([payloadOf(customer)]);
    expect(Buffer.from(sealed!.metadata!.encoding!).toString()).toBe(ENCRYPTED_ENCODING);
    expect(Buffer.from(sealed!.metadata![METADATA_KEY_ID]!).toString()).toBe('k2');
    for (const secret of Object.values(customer)) expect(text(sealed!)).not.toContain(secret);
    const [opened] = await codec.decode([sealed!]);
    expect(valueOf(opened!)).toEqual(customer);
  });

  it('uses a fresh nonce each time: the same value never encrypts to the same bytes', async () => {
    const codec = new EncryptionCodec([key('k1', 1)]);
    const [a, b] = await codec.encode([payloadOf(customer), payloadOf(customer)]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('rotates: a payload sealed with an older key still opens once a new key is first', async () => {
    const before = new EncryptionCodec([key('k1', 1)]);
    const [old] = await before.encode([payloadOf(customer)]);
    const after = new EncryptionCodec([key('k2', 2), key('k1', 1)]);
    expect(valueOf((await after.decode([old!]))[0]!)).toEqual(customer);
    const [fresh] = await after.encode([payloadOf(customer)]);
    expect(Buffer.from(fresh!.metadata![METADATA_KEY_ID]!).toString()).toBe('k2');
  });

  it('fails without retrying, naming the key ID, when it does not have the key', async () => {
    const [sealed] = await new EncryptionCodec([key('gone', 9)]).encode([payloadOf(customer)]);
    const error = await new EncryptionCodec([key('k1', 1)]).decode([sealed!]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect((error as ApplicationFailure).type).toBe('UnknownEncryptionKey');
    expect((error as ApplicationFailure).nonRetryable).toBe(true);
    expect((error as ApplicationFailure).message).toContain('"gone"');
  });

  it('refuses a tampered ciphertext, and a ciphertext moved under another key ID', async () => {
    const codec = new EncryptionCodec([key('k2', 2), key('k1', 1)]);
    const [sealed] = await codec.encode([payloadOf(customer)]);
    const data = Buffer.from(sealed!.data!);
    data[20] = data[20]! ^ 1;
    await expect(codec.decode([{ ...sealed!, data }])).rejects.toThrow(/failed authentication/);
    const relabelled = { ...sealed!, metadata: { ...sealed!.metadata, [METADATA_KEY_ID]: Buffer.from('k1') } };
    await expect(codec.decode([relabelled])).rejects.toThrow(/failed authentication/);
  });

  it('passes through payloads recorded before encryption', async () => {
    const plain = payloadOf(customer);
    expect(await new EncryptionCodec([key('k1', 1)]).decode([plain])).toEqual([plain]);
  });

  it('with encryption off, stores new payloads in clear and still opens old ones', async () => {
    const [old] = await new EncryptionCodec([key('k1', 1)]).encode([payloadOf(customer)]);
    const off = new EncryptionCodec([key('k1', 1)], false);
    const plain = payloadOf(customer);
    expect(await off.encode([plain])).toEqual([plain]);
    expect(valueOf((await off.decode([old!]))[0]!)).toEqual(customer);
  });
});

describe('PAYLOAD_ENCRYPTION_KEYS', () => {
  it('parses id:base64key entries and accepts a generated key', () => {
    const keys = parseEncryptionKeys(`${generateEncryptionKey()}, old:${Buffer.alloc(32, 7).toString('base64')}`);
    expect(keys.map((k) => k.id)).toEqual([expect.stringMatching(/^dev-\d{8}$/), 'old']);
    expect(keys.every((k) => k.key.length === 32)).toBe(true);
  });

  it.each([
    ['nokey', /entry 1: expected id:base64key/],
    [`k1:${Buffer.alloc(16).toString('base64')}`, /entry 1: the key must be 32 bytes/],
    [`bad id:${Buffer.alloc(32).toString('base64')}`, /entry 1: a key ID/],
    [`a:${Buffer.alloc(32).toString('base64')},a:${Buffer.alloc(32, 1).toString('base64')}`, /appears twice/],
  ])('refuses %s, naming PAYLOAD_ENCRYPTION_KEYS and never echoing the key', (value, message) => {
    const error = (() => {
      try {
        parseConfig({ PAYLOAD_ENCRYPTION_KEYS: value });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error?.message).toMatch(/PAYLOAD_ENCRYPTION_KEYS: /);
    expect(error?.message).toMatch(message);
    expect(error?.message).not.toContain(value.split(':')[1] || 'never');
  });

  it('is required in production unless encryption is switched off explicitly', () => {
    const production = parseConfig({ NODE_ENV: 'production' });
    expect(() => payloadDataConverter(production)).toThrow(ConfigurationError);
    expect(() => payloadDataConverter(production)).toThrow(/PAYLOAD_ENCRYPTION_KEYS: is required in production/);
    expect(payloadDataConverter(parseConfig({ NODE_ENV: 'production', PAYLOAD_ENCRYPTION: 'off' }))).toEqual({});
    expect(payloadDataConverter(parseConfig({}))).toEqual({});
    const keyed = payloadDataConverter(
      parseConfig({ NODE_ENV: 'production', PAYLOAD_ENCRYPTION_KEYS: generateEncryptionKey() }),
    );
    expect(keyed.payloadCodecs?.[0]).toBeInstanceOf(EncryptionCodec);
  });
});
