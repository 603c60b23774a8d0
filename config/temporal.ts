import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { DataConverter } from '@temporalio/common';
import {
  type ClientConfigProfile,
  type ClientConnectConfig,
  type ConfigDataSource,
  loadClientConfigProfile,
  toClientOptions,
} from '@temporalio/envconfig';
import { EncryptionCodec } from '../platform/payload-codec.js';
import { type Config, ConfigurationError, orExit } from './index.js';

export const DEFAULT_NAMESPACE = 'default';
/** Where Temporal's CLI (`temporal config`) keeps its profiles; read when TEMPORAL_CONFIG_FILE is unset. */
export const DEFAULT_CONFIG_FILE = join(homedir(), '.config', 'temporalio', 'temporal.toml');

/**
 * How every process reaches Temporal (worker, API, scripts): Temporal's own environment
 * configuration (`@temporalio/envconfig`: the TOML profile, overridden by `TEMPORAL_*`), so a
 * self-hosted cluster with mTLS or Temporal Cloud with an API key needs settings, not code; and the
 * data converter that encrypts payloads, so every process reads and writes histories alike.
 */
export interface TemporalConnectConfig {
  /**
   * For `NativeConnection.connect`, `Connection.connect` or `Connection.lazy`. No address when no
   * setting names one: the SDK's default (`localhost:7233`); `npm start` passes its dev server's.
   */
  connectionOptions: ClientConnectConfig['connectionOptions'];
  namespace: string;
  /** For the Client (`dataConverter`) and the Worker (`dataConverter`). */
  dataConverter: DataConverter;
  /** `address (namespace), tls|plain, api key|mTLS` for the start-up log; never a secret. */
  description: string;
  /** False when no setting names a Temporal server: `npm start` then runs the local dev server. */
  addressConfigured: boolean;
}

export type TemporalSettings = Pick<
  Config,
  | 'TEMPORAL_ADDRESS'
  | 'TEMPORAL_NAMESPACE'
  | 'TEMPORAL_API_KEY'
  | 'TEMPORAL_TLS'
  | 'TEMPORAL_TLS_CLIENT_CERT_PATH'
  | 'TEMPORAL_TLS_CLIENT_KEY_PATH'
  | 'TEMPORAL_TLS_CLIENT_CERT_DATA'
  | 'TEMPORAL_TLS_CLIENT_KEY_DATA'
  | 'TEMPORAL_TLS_SERVER_CA_CERT_PATH'
  | 'TEMPORAL_TLS_SERVER_CA_CERT_DATA'
  | 'TEMPORAL_TLS_SERVER_NAME'
  | 'TEMPORAL_PROFILE'
  | 'TEMPORAL_CONFIG_FILE'
  | 'PAYLOAD_ENCRYPTION_KEYS'
  | 'PAYLOAD_ENCRYPTION'
  | 'NODE_ENV'
>;

/** The TEMPORAL_* settings envconfig reads, as the environment it expects (config/index.ts parsed them). */
const ENV_NAMES = [
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_API_KEY',
  'TEMPORAL_TLS_CLIENT_CERT_PATH',
  'TEMPORAL_TLS_CLIENT_KEY_PATH',
  'TEMPORAL_TLS_CLIENT_CERT_DATA',
  'TEMPORAL_TLS_CLIENT_KEY_DATA',
  'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  'TEMPORAL_TLS_SERVER_CA_CERT_DATA',
  'TEMPORAL_TLS_SERVER_NAME',
  'TEMPORAL_PROFILE',
] as const;

/** Each TLS file, the variable that names it, and its TOML key: an error names what the operator wrote. */
const TLS_FILES = [
  ['clientCert', 'TEMPORAL_TLS_CLIENT_CERT_PATH', 'client_cert_path'],
  ['clientKey', 'TEMPORAL_TLS_CLIENT_KEY_PATH', 'client_key_path'],
  ['serverCACert', 'TEMPORAL_TLS_SERVER_CA_CERT_PATH', 'server_ca_cert_path'],
] as const;

/**
 * The connection, namespace and data converter the settings describe. Throws a ConfigurationError
 * naming the variable (or the TOML file and key) for a TLS file that cannot be read, a certificate
 * without its key, a profile the file lacks, an API key sent without TLS, or missing encryption keys
 * in production.
 */
export function loadTemporalConnectConfig(settings: TemporalSettings): TemporalConnectConfig {
  const profile = loadProfile(settings);
  checkTls(profile, settings);
  const connect = toClientOptions(profile);
  const { connectionOptions } = connect;
  if (connectionOptions.apiKey !== undefined && connectionOptions.tls === false) {
    throw new ConfigurationError([
      { variable: 'TEMPORAL_TLS', message: 'is false, but TEMPORAL_API_KEY would then be sent in clear; remove one' },
    ]);
  }
  const address = connectionOptions.address ?? 'the SDK default address';
  const namespace = connect.namespace ?? DEFAULT_NAMESPACE;
  const tls = connectionOptions.tls ? 'tls' : 'plain';
  const auth =
    connectionOptions.apiKey !== undefined
      ? ', api key'
      : connectionOptions.tls && connectionOptions.tls !== true && connectionOptions.tls.clientCertPair
        ? ', mTLS'
        : '';
  return {
    connectionOptions,
    namespace,
    dataConverter: payloadDataConverter(settings),
    description: `${address} (namespace ${namespace}), ${tls}${auth}`,
    addressConfigured: connectionOptions.address !== undefined,
  };
}

/** As `loadTemporalConnectConfig`; a configuration error ends the process with its message. */
export function temporalConnectConfig(settings: TemporalSettings): TemporalConnectConfig {
  return orExit(() => loadTemporalConnectConfig(settings));
}

/**
 * Payloads encrypted with PAYLOAD_ENCRYPTION_KEYS (platform/payload-codec.ts). No keys: in clear,
 * which production allows only when told so (`PAYLOAD_ENCRYPTION=off`).
 */
export function payloadDataConverter(
  settings: Pick<Config, 'PAYLOAD_ENCRYPTION_KEYS' | 'PAYLOAD_ENCRYPTION' | 'NODE_ENV'>,
): DataConverter {
  const keys = settings.PAYLOAD_ENCRYPTION_KEYS;
  const encrypt = settings.PAYLOAD_ENCRYPTION === 'on';
  if (encrypt && keys.length === 0) {
    if (settings.NODE_ENV === 'production')
      throw new ConfigurationError([
        {
          variable: 'PAYLOAD_ENCRYPTION_KEYS',
          message:
            'is required in production (customer data would be stored in clear in Temporal); set PAYLOAD_ENCRYPTION=off to run without',
        },
      ]);
    return {};
  }
  if (keys.length === 0) return {};
  return { payloadCodecs: [new EncryptionCodec(keys, encrypt)] };
}

function loadProfile(settings: TemporalSettings): ClientConfigProfile {
  const overrideEnvVars: Record<string, string> = {};
  for (const name of ENV_NAMES) {
    const value = settings[name];
    if (value !== undefined) overrideEnvVars[name] = value;
  }
  if (settings.TEMPORAL_TLS !== undefined) overrideEnvVars.TEMPORAL_TLS = String(settings.TEMPORAL_TLS);
  const file = settings.TEMPORAL_CONFIG_FILE;
  let text: string | undefined;
  try {
    text = readFileSync(file ?? DEFAULT_CONFIG_FILE, 'utf8');
  } catch (error) {
    // Only a file named on purpose must exist; the default one is optional.
    if (file !== undefined)
      throw new ConfigurationError([
        { variable: 'TEMPORAL_CONFIG_FILE', message: `cannot read ${file}: ${reason(error)}` },
      ]);
  }
  // envconfig fails on a file without any profile table; such a file says nothing.
  const hasProfiles = text !== undefined && /^\s*\[\s*profile\s*[.\]]/m.test(text);
  if (!hasProfiles && settings.TEMPORAL_PROFILE !== undefined)
    throw new ConfigurationError([
      {
        variable: 'TEMPORAL_PROFILE',
        message: `no profile "${settings.TEMPORAL_PROFILE}" in ${text === undefined ? 'a missing file' : (file ?? DEFAULT_CONFIG_FILE)}`,
      },
    ]);
  const configSource: ConfigDataSource | undefined = hasProfiles ? { data: text! } : undefined;
  try {
    return loadClientConfigProfile({ overrideEnvVars, configSource, disableFile: !hasProfiles });
  } catch (error) {
    const where = file ?? DEFAULT_CONFIG_FILE;
    const message = reason(error);
    if (/Profile '.*' not found/.test(message))
      throw new ConfigurationError([
        { variable: 'TEMPORAL_PROFILE', message: `no profile "${settings.TEMPORAL_PROFILE}" in ${where}` },
      ]);
    throw new ConfigurationError([
      { variable: file ? 'TEMPORAL_CONFIG_FILE' : 'TEMPORAL_PROFILE', message: `${where}: ${message}` },
    ]);
  }
}

/** Every TLS file readable, and a client certificate only with its key (envconfig would drop a lone one silently). */
function checkTls(profile: ClientConfigProfile, settings: TemporalSettings): void {
  const tls = profile.tls;
  if (!tls || tls.disabled) return;
  const problems: { variable: string; message: string }[] = [];
  for (const [field, variable, tomlKey] of TLS_FILES) {
    const source = tls[field];
    if (!source || !('path' in source)) continue;
    const fromEnv = settings[variable] === source.path;
    try {
      readFileSync(source.path);
    } catch (error) {
      problems.push({
        variable: fromEnv ? variable : `${tomlKey} (profile ${settings.TEMPORAL_PROFILE ?? 'default'})`,
        message: `cannot read ${source.path}: ${reason(error)}`,
      });
    }
  }
  if (tls.clientCert && !tls.clientKey)
    problems.push({
      variable: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
      message: 'is missing: a client certificate needs its key',
    });
  if (tls.clientKey && !tls.clientCert)
    problems.push({
      variable: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
      message: 'is missing: a client key needs its certificate',
    });
  if (problems.length > 0) throw new ConfigurationError(problems);
}

function reason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return (error as Error).message;
}
