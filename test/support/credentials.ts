import type { AuthSettings } from '../../api/http/auth.js';
import { parseApiKeys } from '../../platform/credentials.js';
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
