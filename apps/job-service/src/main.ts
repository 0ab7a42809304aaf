// Composition root of the job-service process: config, telemetry first, then the app.
import { formatConfigError } from '@trellis/platform/config';
import { loadServiceConfig, type JobServiceConfig } from './config';

async function main(): Promise<void> {
  let config: JobServiceConfig;
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
        serviceName: 'job-service',
        otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
      })
    : undefined;
  const { startJobService, stopOnSignals } = await import('./app');
  const service = await startJobService(config);
  stopOnSignals(service, service.context.logger, async () => {
    await telemetry?.shutdown();
  });
}

main().catch((err: unknown) => {
  console.error(formatConfigError(err));
  process.exit(1);
});
