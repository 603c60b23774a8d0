import { MockActivityEnvironment } from '@temporalio/testing';

/** For activity environments: business failures are expected in these tests, so say nothing. */
export const quietLogger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

/** Runs activities as a worker would (activity context, cancellation), keeping their types. */
export function activityRunner() {
  const env = new MockActivityEnvironment(undefined, { logger: quietLogger });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return <F extends (...args: any[]) => Promise<unknown>>(fn: F, ...args: Parameters<F>): ReturnType<F> =>
    env.run(fn, ...args) as ReturnType<F>;
}
