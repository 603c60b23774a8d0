import { pino } from 'pino';

/** One structured logger per process; Temporal's SDK logs are funnelled into it. */
export function createLogger(name: string, level: string) {
  return pino({ name, level, base: { pid: process.pid } });
}
