/**
 * Connects, retrying while the other side is not there yet: a worker started while Temporal
 * restarts (or before it is up) waits for it instead of exiting. Backs off from 500 ms to 5 s and
 * gives up after `forMs`, with the last error.
 */
export async function retryConnect<T>(
  connect: () => Promise<T>,
  options: { forMs: number; log: (message: string) => void; sleep?: (ms: number) => Promise<void> },
): Promise<T> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const started = Date.now();
  for (let attempt = 1, delay = 500; ; attempt += 1, delay = Math.min(5_000, delay * 2)) {
    try {
      return await connect();
    } catch (error) {
      if (Date.now() - started + delay > options.forMs) throw error;
      options.log(`connection attempt ${attempt} failed (${(error as Error).message}); trying again in ${delay} ms`);
      await sleep(delay);
    }
  }
}
