import cors from 'cors';
import { type RequestHandler, Router } from 'express';
import { z } from 'zod';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { ApiContext } from '../context.js';
import { parseOr400, problem, problemForFailure } from '../http/problem.js';

/**
 * Temporal Web's remote codec protocol (docs.temporal.io "codec server"): Temporal Web posts the
 * payloads it shows, as proto JSON with base64 fields, to `<endpoint>/decode`, and gets them back
 * in clear; `/encode` does the reverse for what an operator sends from it (a signal). Only support
 * and admin credentials may call them (api/contract.ts), and a browser only from the configured
 * Temporal Web origins (CODEC_CORS_ORIGINS).
 */

/** Base64 of at most `max` characters; the limits keep any too-long field under the API's body limit (64 kB), so it is named in a 400. */
const base64 = (max: number) =>
  z
    .string()
    .max(max)
    .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');

const JsonPayload = z
  .object({
    metadata: z
      .record(
        z
          .string()
          .min(1)
          .max(200)
          .regex(/^[\x21-\x7e]+$/, 'printable ASCII'),
        base64(1_000),
      )
      .optional()
      .meta({ description: 'Metadata values, base64.' }),
    data: base64(40_000).optional().meta({ description: 'The payload bytes, base64.' }),
  })
  .meta({ id: 'CodecPayload' });

export const CodecRequest = z.strictObject({ payloads: z.array(JsonPayload).max(100) }).meta({
  id: 'CodecPayloads',
  example: { payloads: [{ metadata: { encoding: 'anNvbi9wbGFpbg==' }, data: 'eyJvcmRlcklkIjoiZGVtby0xMDAxIn0=' }] },
});

type JsonPayload = z.infer<typeof JsonPayload>;

function fromJson({ metadata, data }: JsonPayload): Payload {
  return {
    metadata: metadata && Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: data === undefined ? undefined : Buffer.from(data, 'base64'),
  };
}

function toJson({ metadata, data }: Payload): JsonPayload {
  return {
    metadata: metadata
      ? Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')]))
      : undefined,
    data: data ? Buffer.from(data).toString('base64') : undefined,
  };
}

/** The codec settings the API runs with; without codecs, both endpoints give payloads back as they are. */
export interface CodecSettings {
  payloadCodecs?: readonly PayloadCodec[];
  corsOrigins: readonly string[];
}

/**
 * CORS for Temporal Web, before access control: the preflight (OPTIONS, no credential) is answered
 * here, and every answer, a 401 included, carries the headers the browser needs to read it.
 */
export function codecCors(settings: CodecSettings | undefined): RequestHandler {
  const handler = cors({
    origin: [...(settings?.corsOrigins ?? [])],
    methods: ['POST'],
    allowedHeaders: ['authorization', 'content-type', 'x-namespace'],
    credentials: true,
    maxAge: 600,
  });
  return (req, res, next) => (/^\/codec\/(decode|encode)\/?$/i.test(req.path) ? handler(req, res, next) : next());
}

export function codecRouter(context: ApiContext): Router {
  const router = Router();
  const codecs = context.codec?.payloadCodecs ?? [];
  for (const direction of ['decode', 'encode'] as const) {
    router.post(`/codec/${direction}`, async (req, res) => {
      const { payloads } = parseOr400(CodecRequest, req.body, 'payloads');
      let result = payloads.map(fromJson);
      try {
        if (direction === 'encode') for (const codec of codecs) result = await codec.encode(result);
        else for (const codec of [...codecs].reverse()) result = await codec.decode(result);
      } catch (error) {
        // An unknown key ID is the catalogue's 422; anything else is a payload that does not decrypt.
        throw (
          problemForFailure(error) ??
          problem('InvalidRequest', 'A payload cannot be decoded.', {
            title: 'Invalid payloads',
            errors: [{ field: 'payloads', message: (error as Error).message }],
          })
        );
      }
      res.json({ payloads: result.map(toJson) });
    });
  }
  return router;
}
