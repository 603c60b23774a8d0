import type { Request } from 'express';
import type { Actor } from '../domain/schemas.js';

/**
 * Who is calling. Until the API authenticates callers (API keys and roles), every caller acts
 * with the support role; the workflow's cancellation policy already decides by role, so
 * authentication only has to change this function.
 */
export function actorOf(_req: Request): Actor {
  return { id: 'unauthenticated', role: 'support' };
}
