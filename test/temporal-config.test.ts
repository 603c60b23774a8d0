import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigurationError, parseConfig } from '../config/index.js';
import { loadTemporalConnectConfig } from '../config/temporal.js';

// Temporal's environment configuration (TEMPORAL_* and the TOML profile) → the connection every process makes.

const dir = mkdtempSync(join(tmpdir(), 'temporal-config-'));
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const cert = file('client.pem', '-----BEGIN CERTIFICATE-----\ncert\n-----END CERTIFICATE-----\n');
const certKey = file('client.key', '-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n');
const ca = file('ca.pem', '-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n');
// No user's own ~/.config/temporalio/temporal.toml leaks into a test: each names its file.
const emptyToml = file('empty.toml', '');

const connect = (env: Record<string, string>) =>
  loadTemporalConnectConfig(parseConfig({ TEMPORAL_CONFIG_FILE: emptyToml, ...env }));

function configurationError(env: Record<string, string>): ConfigurationError {
  try {
    connect(env);
  } catch (error) {
    if (error instanceof ConfigurationError) return error;
    throw error;
  }
  throw new Error('expected a configuration error');
}

describe('the Temporal connection', () => {
  it("plain: the SDK's default address (the local dev server) and the default namespace when nothing is set", () => {
    const config = connect({});
    expect(config.connectionOptions.address).toBeUndefined();
    expect(config.connectionOptions.tls).toBeUndefined();
    expect(config.connectionOptions.apiKey).toBeUndefined();
    expect(config.namespace).toBe('default');
    expect(config.addressConfigured).toBe(false);
    const local = connect({ TEMPORAL_ADDRESS: 'localhost:7300' });
    expect(local.connectionOptions).toMatchObject({ address: 'localhost:7300' });
    expect(local.connectionOptions.tls).toBeUndefined();
    expect(local.description).toBe('localhost:7300 (namespace default), plain');
  });

  it('API key (Temporal Cloud): TLS on, the key sent, the namespace given', () => {
    const config = connect({
      TEMPORAL_ADDRESS: 'orders.a1b2c.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'orders.a1b2c',
      TEMPORAL_API_KEY: 'cloud-api-key',
    });
    expect(config.connectionOptions).toMatchObject({
      address: 'orders.a1b2c.tmprl.cloud:7233',
      apiKey: 'cloud-api-key',
      tls: true,
    });
    expect(config.namespace).toBe('orders.a1b2c');
    expect(config.addressConfigured).toBe(true);
    expect(config.description).toBe('orders.a1b2c.tmprl.cloud:7233 (namespace orders.a1b2c), tls, api key');
    expect(config.description).not.toContain('cloud-api-key');
  });

  it('mTLS (self-hosted or Cloud): the client certificate pair, the CA and the server name', () => {
    const config = connect({
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_TLS_CLIENT_CERT_PATH: cert,
      TEMPORAL_TLS_CLIENT_KEY_PATH: certKey,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca,
      TEMPORAL_TLS_SERVER_NAME: 'frontend.temporal.internal',
    });
    const tls = config.connectionOptions.tls;
    if (!tls || tls === true) throw new Error('expected a TLS configuration');
    expect(Buffer.from(tls.clientCertPair!.crt).toString()).toContain('cert');
    expect(Buffer.from(tls.clientCertPair!.key).toString()).toContain('key');
    expect(Buffer.from(tls.serverRootCACertificate!).toString()).toContain('ca');
    expect(tls.serverNameOverride).toBe('frontend.temporal.internal');
    expect(config.connectionOptions.apiKey).toBeUndefined();
    expect(config.description).toBe('temporal.internal:7233 (namespace default), tls, mTLS');
  });

  it('reads a profile of the TOML file, and TEMPORAL_* override its fields', () => {
    const toml = file(
      'temporal.toml',
      [
        '[profile.default]',
        'address = "localhost:7233"',
        '',
        '[profile.cloud]',
        'address = "orders.a1b2c.tmprl.cloud:7233"',
        'namespace = "orders.a1b2c"',
        'api_key = "from-the-file"',
        '',
        '[profile.mtls]',
        'address = "temporal.internal:7233"',
        '[profile.mtls.tls]',
        `client_cert_path = "${cert}"`,
        `client_key_path = "${certKey}"`,
      ].join('\n'),
    );
    const cloud = connect({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'cloud' });
    expect(cloud.connectionOptions).toMatchObject({
      address: 'orders.a1b2c.tmprl.cloud:7233',
      apiKey: 'from-the-file',
      tls: true,
    });
    expect(cloud.namespace).toBe('orders.a1b2c');
    const overridden = connect({
      TEMPORAL_CONFIG_FILE: toml,
      TEMPORAL_PROFILE: 'cloud',
      TEMPORAL_NAMESPACE: 'staging',
    });
    expect(overridden.namespace).toBe('staging');
    expect(connect({ TEMPORAL_CONFIG_FILE: toml }).connectionOptions.address).toBe('localhost:7233');
    const mtls = connect({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'mtls' });
    expect(mtls.description).toBe('temporal.internal:7233 (namespace default), tls, mTLS');
  });

  it('names the variable when a TLS file is missing', () => {
    const error = configurationError({
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_TLS_CLIENT_CERT_PATH: join(dir, 'nope.pem'),
      TEMPORAL_TLS_CLIENT_KEY_PATH: certKey,
    });
    expect(error.message).toBe(
      `Invalid configuration:\n  TEMPORAL_TLS_CLIENT_CERT_PATH: cannot read ${join(dir, 'nope.pem')}: no such file`,
    );
    expect(error.stack).toBeDefined();
  });

  it('names the TOML key and profile when a file it names is missing', () => {
    const toml = file('broken.toml', `[profile.prod.tls]\nserver_ca_cert_path = "${join(dir, 'gone.pem')}"\n`);
    const error = configurationError({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'prod' });
    expect(error.problems).toEqual([
      { variable: 'server_ca_cert_path (profile prod)', message: `cannot read ${join(dir, 'gone.pem')}: no such file` },
    ]);
  });

  it.each([
    [{ TEMPORAL_TLS_CLIENT_CERT_PATH: cert }, 'TEMPORAL_TLS_CLIENT_KEY_PATH', /a client certificate needs its key/],
    [{ TEMPORAL_TLS_CLIENT_KEY_PATH: certKey }, 'TEMPORAL_TLS_CLIENT_CERT_PATH', /a client key needs its certificate/],
    [{ TEMPORAL_API_KEY: 'k', TEMPORAL_TLS: 'false' }, 'TEMPORAL_TLS', /sent in clear/],
    [{ TEMPORAL_PROFILE: 'missing' }, 'TEMPORAL_PROFILE', /no profile "missing"/],
    [{ TEMPORAL_CONFIG_FILE: join(dir, 'absent.toml') }, 'TEMPORAL_CONFIG_FILE', /no such file/],
  ])('refuses a bad combination %j, naming %s', (env, variable, message) => {
    const error = configurationError(env);
    expect(error.problems.map((p) => p.variable)).toEqual([variable]);
    expect(error.problems[0]!.message).toMatch(message);
  });
});
