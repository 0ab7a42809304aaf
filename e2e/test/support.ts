import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { CompatServiceDefinition } from 'nice-grpc';
import { createGrpcClient, type GrpcClientHandle } from '@trellis/platform/grpc';
import { startTelemetry, type Telemetry } from '@trellis/platform/telemetry';
import { captureLogger } from '@trellis/platform/testing';
import type { Logger } from '@trellis/platform/logging';
import type { Devstack, DevstackOptions } from '@trellis/devstack';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface E2eSystem {
  devstack: Devstack;
  spans: InMemorySpanExporter;
  logs: Array<Record<string, unknown>>;
  rawLogs: string[];
  /** A client made with the platform kit (deadline, trace propagation), closed by stop(). */
  client<D extends CompatServiceDefinition>(
    definition: D,
    address: string,
  ): GrpcClientHandle<D>['client'];
  stop(): Promise<void>;
}

/**
 * The system as `npm start` runs it (embedded servers and all three services in one process),
 * on free ports and a throwaway data directory, with spans and log lines captured.
 */
export async function startSystem(
  options: Omit<DevstackOptions, 'ports' | 'dataDir'> = {},
): Promise<E2eSystem> {
  const spans = new InMemorySpanExporter();
  const telemetry: Telemetry = startTelemetry({
    serviceName: 'trellis-e2e',
    spanProcessors: [new SimpleSpanProcessor(spans)],
  });
  const logs: Array<Record<string, unknown>> = [];
  const rawLogs: string[] = [];
  const loggers = new Map<string, Logger>();
  const loggerFor = (service: string) => {
    if (!loggers.has(service)) {
      loggers.set(service, captureLogger(service, { lines: logs, raw: rawLogs }).logger);
    }
    return loggers.get(service);
  };
  const { startDevstack } = await import('@trellis/devstack');
  const devstack = await startDevstack({
    ...options,
    ports: 'ephemeral',
    dataDir: mkdtempSync(join(tmpdir(), 'trellis-e2e-')),
    env: { ...options.env, LOG_LEVEL: 'debug' },
    loggerFor,
  });
  const handles: Array<{ close(): void }> = [];
  return {
    devstack,
    spans,
    logs,
    rawLogs,
    client(definition, address) {
      const handle = createGrpcClient(definition, { address, maxAttempts: 1 });
      handles.push(handle);
      return handle.client;
    },
    async stop() {
      handles.forEach((h) => h.close());
      await devstack.stop();
      await telemetry.shutdown();
    },
  };
}
