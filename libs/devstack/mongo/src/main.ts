/**
 * Standalone devstack MongoDB server: `nx run devstack-mongo:serve` (or `tsx libs/devstack/mongo/src/main.ts`).
 *
 *   DEVSTACK_MONGO_PORT      default 27017 (0 = any free port)
 *   DEVSTACK_MONGO_HOST      default 127.0.0.1
 *   DEVSTACK_MONGO_DATA_DIR  journal directory; unset = memory only
 *   DEVSTACK_MONGO_FSYNC     interval (default) | always
 *
 * Prints one JSON log line with the URI, and `MONGODB_URI=<uri>` on stdout for scripts.
 */
import pino from 'pino';
import { z } from 'zod';
import { envInt, formatConfigError, loadConfig } from '@trellis/platform/config';
import { startMongoDevServer } from './server';

async function main(): Promise<void> {
  const config = loadConfig({
    DEVSTACK_MONGO_PORT: envInt(27017, 0, 65535),
    DEVSTACK_MONGO_HOST: z.string().default('127.0.0.1'),
    DEVSTACK_MONGO_DATA_DIR: z.string().optional(),
    DEVSTACK_MONGO_FSYNC: z.enum(['interval', 'always']).default('interval'),
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  });
  const logger = pino({ name: 'devstack-mongo', level: config.LOG_LEVEL });
  const server = await startMongoDevServer({
    port: config.DEVSTACK_MONGO_PORT,
    host: config.DEVSTACK_MONGO_HOST,
    dataDir: config.DEVSTACK_MONGO_DATA_DIR,
    fsync: config.DEVSTACK_MONGO_FSYNC,
    logger,
  });
  process.stdout.write(`MONGODB_URI=${server.uri}\n`);
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    void server.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`${formatConfigError(err)}\n`);
  process.exit(1);
});
