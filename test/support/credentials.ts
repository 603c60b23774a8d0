import type { AuthSettings } from '../../api/http/auth.js';
import { parseApiKeys } from '../../platform/credentials.js';
import { parseEncryptionKeys } from '../../platform/payload-codec.js';
import { payloadDataConverter } from '../../config/temporal.js';
import type { Role } from '../../domain/schemas.js';

/** The tests' own API keys, one per role, and the carrier secret; never used outside tests. */
export const TEST_KEYS: Record<Role, string> = {
  service: 'test-service-key-0123456789',
  support: 'test-support-key-0123456789',
  warehouse: 'test-warehouse-key-0123456789',
  admin: 'test-admin-key-0123456789',
  monitoring: 'test-monitoring-key-0123456789',
};

export const TEST_CARRIER_SECRET = 'test-carrier-webhook-secret-0123456789abcdef';

/**
 * `PAYLOAD_ENCRYPTION_KEYS` of the end-to-end tests: `test-2` encrypts, `test-1` (an older key)
 * still decrypts. Fixed bytes, so a failing run's history can be decoded afterwards.
 */
export const TEST_PAYLOAD_ENCRYPTION_KEYS = `test-2:${Buffer.alloc(32, 2).toString('base64')},test-1:${Buffer.alloc(32, 1).toString('base64')}`;

/** The Temporal Web origin the tests' API answers CORS requests from. */
export const TEST_WEB_ORIGIN = 'http://localhost:8233';

/** The data converter the tests' clients and workers share, built as every process builds its own. */
export const testDataConverter = payloadDataConverter({
  PAYLOAD_ENCRYPTION_KEYS: parseEncryptionKeys(TEST_PAYLOAD_ENCRYPTION_KEYS),
  PAYLOAD_ENCRYPTION: 'on',
  NODE_ENV: 'test',
});

/** `API_KEYS` as a deployment would write it: the keys are named `<role>-desk`. */
export const TEST_API_KEYS = Object.entries(TEST_KEYS)
  .map(([role, key]) => `${role}-desk=${key}:${role}`)
  .join(',');

export const testAuth: AuthSettings = {
  apiKeys: parseApiKeys(TEST_API_KEYS),
  carrierWebhookSecret: TEST_CARRIER_SECRET,
};

/** Who a test request is sent as: a role's key, or nobody. */
export type Caller = Role | 'anonymous';

export function credentialHeaders(as: Caller): Record<string, string> {
  return as === 'anonymous' ? {} : { authorization: `Bearer ${TEST_KEYS[as]}` };
}
