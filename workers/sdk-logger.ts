import { DefaultLogger, type LogLevel } from '@temporalio/worker';
import type { Logger } from 'pino';

/**
 * The SDK's logs (the Runtime's own, workers', and through it the activity and replay-aware
 * workflow loggers) as pino JSON lines. The SDK puts the context on each entry's meta: workflowId,
 * runId (workflowRunId for an activity), workflowType, activityType, activityId, attempt, taskQueue
 * and namespace; they become fields of the line, with `sdkComponent` saying which logger spoke.
 */
export function sdkLogger(logger: Logger, level: string): DefaultLogger {
  const sdkLevel: LogLevel =
    level === 'trace'
      ? 'TRACE'
      : level === 'debug'
        ? 'DEBUG'
        : level === 'warn'
          ? 'WARN'
          : level === 'error' || level === 'fatal' || level === 'silent'
            ? 'ERROR'
            : 'INFO';
  return new DefaultLogger(sdkLevel, (entry) => {
    const method =
      entry.level === 'TRACE'
        ? 'trace'
        : entry.level === 'DEBUG'
          ? 'debug'
          : entry.level === 'WARN'
            ? 'warn'
            : entry.level === 'ERROR'
              ? 'error'
              : 'info';
    // The task token lets whoever holds it complete the task: not for logs.
    const { taskToken: _taskToken, ...fields } = entry.meta ?? {};
    logger[method](fields, entry.message);
  });
}
