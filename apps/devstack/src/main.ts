import { parseArgs } from 'node:util';
import { startTelemetry } from '@trellis/platform/telemetry';

const USAGE = `Usage: npm start [-- --fresh] [-- --secure]

Starts embedded MongoDB, Kafka and an SMTP sink, then account-, job- and notification-service.
  --fresh    delete the data kept under .data first
  --secure   mTLS everywhere plus signed service tokens, with a throwaway CA under .data/pki
Real servers instead of embedded ones: MONGODB_URI, KAFKA_BROKERS, SMTP_URL.
DEVSTACK_DATA_DIR moves the data; DEVSTACK_PORTS=ephemeral picks free ports.`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      fresh: { type: 'boolean', default: false },
      secure: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  // Telemetry before the services are loaded, so gRPC and MongoDB calls are instrumented.
  const telemetry = startTelemetry({
    serviceName: 'trellis-devstack',
    otlpEndpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT,
  });
  const { startDevstack } = await import('./devstack');
  const { printReady } = await import('./print-ready');
  const started = Date.now();
  const devstack = await startDevstack({
    fresh: values.fresh,
    secure: values.secure,
    // For scripts and tests that run a second copy beside the first.
    dataDir: process.env.DEVSTACK_DATA_DIR || undefined,
    ports: process.env.DEVSTACK_PORTS === 'ephemeral' ? 'ephemeral' : 'fixed',
    onProgress: (line) => console.error(`[devstack] ${line}`),
  });
  printReady(devstack, Date.now() - started);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.error(`[devstack] ${signal}: stopping services, then servers`);
    devstack
      .stop()
      .then(() => telemetry.shutdown())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          console.error('[devstack] shutdown failed', err);
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(`[devstack] failed to start: ${(err as Error).message}`);
  process.exit(1);
});
