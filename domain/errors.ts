/**
 * The failure types now live in the failure catalogue (domain/failures.ts), with their meaning,
 * retryability and HTTP problem. Kept so that code importing them from here goes on compiling;
 * import them from domain/failures.ts.
 */
export { FailureType } from './failures.js';
