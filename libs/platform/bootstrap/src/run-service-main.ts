import { formatConfigError } from '@trellis/platform/config';
import type { Logger } from '@trellis/platform/logging';
import { startTelemetry, type Telemetry } from '@trellis/platform/telemetry';
import type { ServiceConfig } from './service-config';

interface StoppableService {
  stop(): Promise<void>;
  context: { logger: Logger };
}

/**
 * Installs SIGINT/SIGTERM handlers that stop the service once and exit; only a process entry point
 * calls it (libraries never install signal handlers). With `deadlineMs`, a stop that has not
 * finished by then exits 1 (the outbox keeps what was not published, a restart's session owners
 * kill what was left open). Later signals are ignored: one Ctrl-C under `npm run` or nx reaches
 * the process twice (from the terminal and forwarded by its parent).
 */
export function stopOnSignals(
  service: { stop(): Promise<void> },
  logger: Logger,
  onStopped?: () => Promise<void>,
  options: { deadlineMs?: number } = {},
): void {
  let received = false;
  const handler = (signal: NodeJS.Signals) => {
    if (received) return;
    received = true;
    logger.info({ signal }, 'signal received');
    if (options.deadlineMs !== undefined) {
      const deadlineMs = options.deadlineMs;
      setTimeout(() => {
        logger.error({ deadline_ms: deadlineMs }, 'shutdown did not finish in time; exiting');
        process.exit(1);
      }, deadlineMs).unref();
    }
    service
      .stop()
      .then(() => onStopped?.())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

/**
 * What every service's `main.ts` does: read config (a bad variable is one line on stderr and exit
 * code 1), start telemetry before the app's modules load (so MongoDB calls are instrumented), start
 * the service, and stop it on SIGINT/SIGTERM.
 */
export async function runServiceMain<Config extends ServiceConfig>(options: {
  name: string;
  loadConfig(): Config;
  /** Loads the composition root lazily, e.g. `async () => (await import('./composition')).startJobService`. */
  loadStart(): Promise<(config: Config) => Promise<StoppableService>>;
}): Promise<void> {
  let telemetry: Telemetry | undefined;
  try {
    const config = options.loadConfig();
    if (config.TRACING_ENABLED) {
      telemetry = startTelemetry({
        serviceName: options.name,
        otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
      });
    }
    const start = await options.loadStart();
    const service = await start(config);
    stopOnSignals(
      service,
      service.context.logger,
      async () => {
        await telemetry?.shutdown();
      },
      { deadlineMs: config.SHUTDOWN_GRACE_MS + config.SHUTDOWN_CLOSE_MS },
    );
    service.context.logger.info('ready; SIGTERM or SIGINT stops it gracefully');
  } catch (err) {
    console.error(formatConfigError(err));
    await telemetry?.shutdown();
    process.exit(1);
  }
}
