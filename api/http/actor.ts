import type { Request } from 'express';
import type { Actor } from '../../domain/schemas.js';
import { problem } from './problem.js';

/**
 * Who is calling, as the access control (api/http/auth.ts) authenticated them: an API key's name and
 * role. The workflow's cancellation policy decides by the role and records the name, so who
 * cancelled comes from the credential, never from the body.
 */
const actors = new WeakMap<Request, Actor>();
/** Callers without a role: a carrier, identified by its verified signature. */
const callers = new WeakMap<Request, string>();

export function setActor(req: Request, actor: Actor): void {
  actors.set(req, actor);
}

export function setCaller(req: Request, id: string): void {
  callers.set(req, id);
}

/** The authenticated actor; a route that needs one and has none is refused, never served as someone. */
export function actorOf(req: Request): Actor {
  const actor = actors.get(req);
  if (!actor) throw problem('Unauthorized', 'Send an API key: Authorization: Bearer <key>.');
  return actor;
}

/** The caller's ID for logs and idempotency scopes: the key's name, `carrier:<name>`, or `anonymous`. */
export function callerId(req: Request): string {
  return actors.get(req)?.id ?? callers.get(req) ?? 'anonymous';
}
