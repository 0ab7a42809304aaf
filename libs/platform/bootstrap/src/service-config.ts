import type { JSONWebKeySet } from 'jose';
import { z } from 'zod';
import { envFlag, envInt, envList } from '@trellis/platform/config';

/** A variable holding JSON, parsed (e.g. AUTHZ_POLICY, SERVICE_TOKEN_JWKS). */
function jsonValue<T>(expected: string) {
  return z.string().transform((text, ctx): T => {
    try {
      const value: unknown = JSON.parse(text);
      if (typeof value !== 'object' || value === null) throw new Error('not an object');
      return value as T;
    } catch {
      ctx.addIssue({ code: 'custom', message: `expected ${expected}` });
      return z.NEVER;
    }
  });
}

/**
 * The environment every service reads (README "Configuration"); each app's config.ts spreads
 * this shape into its own and adds what only it needs. Defaults make `npm start` work unset.
 */
export function serviceConfigShape(defaults: {
  grpcPort: number;
  metricsPort: number;
  database: string;
  /**
   * Who may call what when service tokens are on (AuthorizationPolicy): each service ships its own
   * least-privilege allow-list in its config.ts. Absent: `{}`, which denies every method (health
   * and reflection stay public) — "anyone may call anything" is never a default.
   */
  authorizationPolicy?: Record<string, string[]>;
}) {
  return {
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
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
    // Query RPCs (Get*, List*) log successful calls at debug unless at least this slow.
    LOG_SLOW_QUERY_MS: envInt(100, 0, 3_600_000),
    TRACING_ENABLED: envFlag(true),
    OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url({ message: 'expected an http(s) URL' }).optional(),
    SHUTDOWN_GRACE_MS: envInt(10_000, 0, 600_000),
    // After the drain, the time left for consumers, relay, Kafka and MongoDB to close; past it the
    // process exits 1 (e.g. MongoDB and Kafka gone mid-shutdown: their clients retry for minutes).
    SHUTDOWN_CLOSE_MS: envInt(10_000, 0, 600_000),
    // Transport security: TLS when cert and key are set; mTLS unless TLS_REQUIRE_CLIENT_CERT=false.
    // The files are re-read every minute, so rotated certificates apply without a restart.
    TLS_CA_FILE: z.string().min(1).optional(),
    TLS_CERT_FILE: z.string().min(1).optional(),
    TLS_KEY_FILE: z.string().min(1).optional(),
    TLS_REQUIRE_CLIENT_CERT: envFlag(true),
    /** Plaintext in production only with this explicit opt-in (logged as a warning). */
    ALLOW_INSECURE: envFlag(false),
    // Service identity: trusted callers' public keys (JWKS, kid = service name) switch on token
    // authentication; this service's own ES256 key signs the tokens it sends.
    SERVICE_TOKEN_JWKS: jsonValue<JSONWebKeySet>('a JWKS JSON document').optional(),
    SERVICE_TOKEN_PRIVATE_KEY: z
      .string()
      .includes('PRIVATE KEY', { message: 'expected a PKCS#8 PEM private key' })
      .optional(),
    AUTHZ_POLICY: jsonValue<Record<string, string[]>>('a JSON object of method → subjects').default(
      defaults.authorizationPolicy ?? {},
    ),
    GRPC_MAX_RECEIVE_BYTES: envInt(4 * 1024 * 1024, 1024, 64 * 1024 * 1024),
    GRPC_MAX_CONCURRENT_STREAMS: envInt(100, 1, 10_000),
  };
}

export type ServiceConfig = z.infer<z.ZodObject<ReturnType<typeof serviceConfigShape>>>;
