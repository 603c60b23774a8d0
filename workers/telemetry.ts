import type { TelemetryOptions } from '@temporalio/worker';

/**
 * The worker's Prometheus endpoint, served by the SDK's Runtime (Rust core): the SDK's `temporal_*`
 * metrics and the business counters activities add through their `metricMeter`
 * (activities/metrics.ts), which write to the same exporter. Durations in seconds, counters with
 * `_total` and histograms with their unit, as Prometheus names them.
 */
export function workerTelemetry(settings: {
  WORKER_METRICS_HOST: string;
  WORKER_METRICS_PORT: number;
}): TelemetryOptions {
  return {
    metrics: {
      prometheus: {
        bindAddress: `${settings.WORKER_METRICS_HOST}:${settings.WORKER_METRICS_PORT}`,
        countersTotalSuffix: true,
        unitSuffix: true,
        useSecondsForDurations: true,
      },
    },
  };
}
