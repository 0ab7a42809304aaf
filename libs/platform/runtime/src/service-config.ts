import { z } from 'zod';
import { envFlag, envInt, envList } from '@trellis/platform/config';

/**
 * The environment every service reads (README "Configuration"); each app's config.ts spreads
 * this shape into its own and adds what only it needs. Defaults make `npm start` work unset.
 */
export function serviceConfigShape(defaults: {
  grpcPort: number;
  metricsPort: number;
  database: string;
}) {
  return {
    GRPC_HOST: z.string().default('0.0.0.0'),
    GRPC_PORT: envInt(defaults.grpcPort, 0, 65535),
    METRICS_PORT: envInt(defaults.metricsPort, 0, 65535),
    MONGODB_URI: z
      .string()
      .regex(/^mongodb(\+srv)?:\/\//, { message: 'expected a mongodb:// or mongodb+srv:// URI' })
      .default('mongodb://127.0.0.1:27017/?replicaSet=rs0'),
    MONGODB_DATABASE: z.string().min(1).default(defaults.database),
    KAFKA_BROKERS: envList(['127.0.0.1:9092']).refine((list) => list.length > 0, {
      message: 'expected a comma-separated list of host:port',
    }),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
    LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
    TRACING_ENABLED: envFlag(true),
    OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url({ message: 'expected an http(s) URL' }).optional(),
    SHUTDOWN_GRACE_MS: envInt(10_000, 0, 600_000),
  };
}

export type ServiceConfig = z.infer<z.ZodObject<ReturnType<typeof serviceConfigShape>>>;
