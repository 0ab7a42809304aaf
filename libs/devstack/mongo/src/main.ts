/**
 * Standalone devstack MongoDB server: `nx run devstack-mongo:serve` (or `tsx libs/devstack/mongo/src/main.ts`).
 *
 *   DEVSTACK_MONGO_PORT      default 27017 (0 = any free port)
 *   DEVSTACK_MONGO_HOST      default 127.0.0.1
 *   DEVSTACK_MONGO_DATA_DIR  journal directory; unset = memory only
 *   DEVSTACK_MONGO_FSYNC     interval (default) | always   (see README.md)
 *   DEVSTACK_MONGO_ENABLE_TEST_COMMANDS  true | false (default): configureFailPoint, for running
 *                            the drivers' own test suites (see CONFORMANCE.md); never in development
 *   DEVSTACK_MONGO_MAX_WIRE_VERSION  25 (MongoDB 8.0, default) | 21 (7.0: no bulkWrite command)
 *   LOG_LEVEL                default info
 *
 * The server logs its URI (pino, "devstack mongo listening"); this also prints
 * `MONGODB_URI=<uri>` on stdout for scripts. (Plain zod rather than @trellis/platform/config:
 * `tsx` run from the workspace root does not see tsconfig path aliases.)
 */
import pino from 'pino';
import { z } from 'zod';
import { startMongoDevServer } from './server';

const Env = z.object({
  DEVSTACK_MONGO_PORT: z.coerce.number().int().min(0).max(65535).default(27017),
  DEVSTACK_MONGO_HOST: z.string().min(1).default('127.0.0.1'),
  DEVSTACK_MONGO_DATA_DIR: z.string().min(1).optional(),
  DEVSTACK_MONGO_FSYNC: z.enum(['interval', 'always']).default('interval'),
  DEVSTACK_MONGO_ENABLE_TEST_COMMANDS: z.enum(['true', 'false']).default('false'),
  DEVSTACK_MONGO_MAX_WIRE_VERSION: z.enum(['21', '25']).default('25'),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
});

async function main(): Promise<void> {
  const parsed = Env.safeParse(
    Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== '')),
  );
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`Invalid configuration: ${String(issue.path[0])} ${issue.message}`);
  }
  const config = parsed.data;
  const logger = pino({ name: 'devstack-mongo', level: config.LOG_LEVEL });
  const server = await startMongoDevServer({
    port: config.DEVSTACK_MONGO_PORT,
    host: config.DEVSTACK_MONGO_HOST,
    dataDir: config.DEVSTACK_MONGO_DATA_DIR,
    fsync: config.DEVSTACK_MONGO_FSYNC,
    enableTestCommands: config.DEVSTACK_MONGO_ENABLE_TEST_COMMANDS === 'true',
    maxWireVersion: config.DEVSTACK_MONGO_MAX_WIRE_VERSION === '21' ? 21 : 25,
    logger,
  });
  process.stdout.write(`MONGODB_URI=${server.uri}\n`);
  const shutdown = (signal: string): void => {
    logger.info({ signal }, 'shutting down');
    void server.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
