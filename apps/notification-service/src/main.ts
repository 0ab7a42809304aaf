// The notification-service process: config, telemetry before the app's modules load, the app, signals.
import { runServiceMain } from '@trellis/platform/bootstrap';
import { loadServiceConfig } from './config';

void runServiceMain({
  name: 'notification-service',
  loadConfig: () => loadServiceConfig(),
  loadStart: async () => (await import('./composition')).startNotificationService,
});
