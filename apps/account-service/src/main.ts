import { formatConfigError } from '@trellis/platform/config';
import { createLogger } from '@trellis/platform/logging';
import { stopOnSignals } from '@trellis/platform/runtime';
import { startTelemetry, type Telemetry } from '@trellis/platform/telemetry';
import { loadServiceConfig, type AccountServiceConfig } from './config';

// Composition root only: config, telemetry first (so grpc-js and mongodb load instrumented),
// then the app, then signals.
async function main(): Promise<void> {
  let config: AccountServiceConfig;
  try {
    config = loadServiceConfig();
  } catch (err) {
    console.error(formatConfigError(err));
    process.exit(1);
  }
  let telemetry: Telemetry | undefined;
  if (config.TRACING_ENABLED) {
    telemetry = startTelemetry({
      serviceName: 'account-service',
      otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
    });
  }
  const { startAccountService, SERVICE_NAME } = await import('./app');
  const logger = createLogger({
    service: SERVICE_NAME,
    level: config.LOG_LEVEL,
    format: config.LOG_FORMAT,
  });
  try {
    const service = await startAccountService(config, { logger });
    stopOnSignals(service, logger, async () => {
      await telemetry?.shutdown();
    });
  } catch (err) {
    logger.fatal({ err }, formatConfigError(err));
    await telemetry?.shutdown();
    process.exit(1);
  }
}

void main();
