import type { Config } from './index.js';

/** Where Temporal is when TEMPORAL_ADDRESS is unset: the local dev server `npm start` runs. */
export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';

/**
 * How every process reaches Temporal (worker, API, scripts): the connection's options and the
 * namespace, shaped like `@temporalio/envconfig`'s `ClientConnectConfig` so that switching to it
 * (TLS, API keys, profiles) changes this module and none of its callers.
 */
export interface TemporalConnectConfig {
  /** For `NativeConnection.connect`, `Connection.connect` or `Connection.lazy`. */
  connectionOptions: { address: string };
  namespace: string;
}

/** TEMPORAL_ADDRESS (default: the local dev server) and TEMPORAL_NAMESPACE (default `default`). */
export function temporalConnectConfig(
  settings: Pick<Config, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE'>,
): TemporalConnectConfig {
  return {
    connectionOptions: { address: settings.TEMPORAL_ADDRESS ?? DEFAULT_TEMPORAL_ADDRESS },
    namespace: settings.TEMPORAL_NAMESPACE,
  };
}
