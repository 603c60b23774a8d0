import { describe, expect, it } from 'vitest';
import { parseConfig, WORKER_POOL_RESERVE, workerDatabasePoolSize } from '../config/index.js';

describe('worker sizing', () => {
  it('gives the worker a database connection for every activity it runs at once, and a reserve', () => {
    const defaults = parseConfig({});
    expect(defaults.WORKER_ACTIVITY_CONCURRENCY).toBe(20);
    expect(workerDatabasePoolSize(defaults)).toBe(20 + WORKER_POOL_RESERVE);
    const tuned = parseConfig({ WORKER_ACTIVITY_CONCURRENCY: '50' });
    expect(workerDatabasePoolSize(tuned)).toBeGreaterThanOrEqual(tuned.WORKER_ACTIVITY_CONCURRENCY + 1);
  });

  it('refuses a concurrency it cannot give connections to', () => {
    expect(() => parseConfig({ WORKER_ACTIVITY_CONCURRENCY: '0' })).toThrow(/WORKER_ACTIVITY_CONCURRENCY/);
    expect(() => parseConfig({ WORKER_ACTIVITY_CONCURRENCY: '1000' })).toThrow(/WORKER_ACTIVITY_CONCURRENCY/);
  });
});
