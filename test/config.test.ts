import { describe, expect, it } from 'vitest';
import { parseConfig, WORKER_POOL_RESERVE, workerDatabasePoolSize } from '../config/index.js';
import { workerTuning } from '../workers/tuning.js';

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

describe('worker tuning', () => {
  it('gives fixed slots, fixed polls and the cache size the settings name', () => {
    const tuning = workerTuning(
      parseConfig({ WORKER_ACTIVITY_CONCURRENCY: '12', WORKER_POLLERS: '4', WORKER_CACHED_WORKFLOWS: '300' }),
    );
    expect(tuning).toMatchObject({
      maxConcurrentActivityTaskExecutions: 12,
      maxCachedWorkflows: 300,
      workflowTaskPollerBehavior: { type: 'simple-maximum', maximum: 4 },
      activityTaskPollerBehavior: { type: 'simple-maximum', maximum: 4 },
    });
    expect(tuning.tuner).toBeUndefined();
  });

  it('lets the resource-based tuner use no more activity slots than the database pool has connections for', () => {
    const settings = parseConfig({ WORKER_TUNER: 'resource-based', WORKER_POLLERS: 'autoscaling' });
    const tuning = workerTuning(settings);
    expect(tuning.maxConcurrentActivityTaskExecutions).toBeUndefined();
    expect(tuning.workflowTaskPollerBehavior).toEqual({ type: 'autoscaling' });
    const tuner = tuning.tuner as { activityTaskSlotOptions: { maximumSlots: number } };
    expect(tuner.activityTaskSlotOptions.maximumSlots).toBeLessThan(workerDatabasePoolSize(settings));
  });

  it('defaults to autoscaling polls, a 500-workflow sticky cache and fixed slots (docs/benchmarks.md)', () => {
    expect(workerTuning(parseConfig({}))).toEqual({
      maxConcurrentActivityTaskExecutions: 20,
      maxConcurrentWorkflowTaskExecutions: 40,
      maxCachedWorkflows: 500,
      workflowTaskPollerBehavior: { type: 'autoscaling' },
      activityTaskPollerBehavior: { type: 'autoscaling' },
    });
  });

  it('refuses a poller setting that is neither a number nor autoscaling', () => {
    expect(() => parseConfig({ WORKER_POLLERS: 'many' })).toThrow(/WORKER_POLLERS/);
    expect(() => parseConfig({ WORKER_TUNER: 'magic' })).toThrow(/WORKER_TUNER/);
  });
});
