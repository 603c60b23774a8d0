import type { Config } from '../config/index.js';
import type { DeliveryTarget } from '../simulators/deliveries.js';

/** How the simulated warehouse and carriers reach the API: SIMULATOR_API_KEY (or the first warehouse key) and the carrier secret. */
export function simulatorTarget(settings: Config): DeliveryTarget {
  if (!settings.SIMULATOR_API_KEY)
    throw new Error('SIMULATORS needs SIMULATOR_API_KEY or a warehouse key in API_KEYS (npm start sets them)');
  if (!settings.CARRIER_WEBHOOK_SECRET) throw new Error('SIMULATORS needs CARRIER_WEBHOOK_SECRET (npm start sets it)');
  return {
    baseUrl: settings.SIMULATOR_CALLBACK_URL ?? `http://127.0.0.1:${settings.PORT}`,
    apiKey: settings.SIMULATOR_API_KEY,
    carrierWebhookSecret: settings.CARRIER_WEBHOOK_SECRET,
  };
}
