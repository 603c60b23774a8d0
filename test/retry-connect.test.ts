import { describe, expect, it } from 'vitest';
import { retryConnect } from '../workers/retry-connect.js';

/**
 * `npm run chaos` found a worker restarted while Temporal restarted exiting at once ("Failed to
 * connect"): the worker now waits for Temporal, bounded.
 */
describe('retryConnect', () => {
  const noSleep = async () => {};

  it('tries again while the server is not there, and connects once it is', async () => {
    let calls = 0;
    const logged: string[] = [];
    const connection = await retryConnect(
      async () => {
        calls += 1;
        if (calls < 3) throw new Error('Failed to connect before the deadline');
        return 'connected';
      },
      { forMs: 60_000, log: (message) => logged.push(message), sleep: noSleep },
    );
    expect(connection).toBe('connected');
    expect(calls).toBe(3);
    expect(logged).toHaveLength(2);
  });

  it('gives up after its time with the last error', async () => {
    await expect(
      retryConnect(
        async () => {
          throw new Error('Failed to connect before the deadline');
        },
        { forMs: 0, log: () => {}, sleep: noSleep },
      ),
    ).rejects.toThrow('Failed to connect');
  });
});
