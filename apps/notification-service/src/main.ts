// Composition root of the notification-service process: config, telemetry first, then the app.
import { formatConfigError } from '@trellis/platform/config';
import { loadServiceConfig, type NotificationServiceConfig } from './config';

async function main(): Promise<void> {
  let config: NotificationServiceConfig;
  try {
    config = loadServiceConfig();
  } catch (err) {
    console.error(formatConfigError(err));
    process.exit(1);
  }
  // Telemetry before @grpc/grpc-js and mongodb are loaded (./app pulls them in).
  const { startTelemetry } = await import('@trellis/platform/telemetry');
  const telemetry = config.TRACING_ENABLED
    ? startTelemetry({
        serviceName: 'notification-service',
        otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
      })
    : undefined;
  const { startNotificationService, stopOnSignals } = await import('./app');
  const service = await startNotificationService(config);
  stopOnSignals(service, service.context.logger, async () => {
    await telemetry?.shutdown();
  });
}

main().catch((err: unknown) => {
  console.error(formatConfigError(err));
  process.exit(1);
});
