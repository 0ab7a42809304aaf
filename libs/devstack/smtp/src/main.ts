/**
 * Standalone entry: `npx nx run devstack-smtp:serve` (or `tsx libs/devstack/smtp/src/main.ts`).
 * Settings: SMTP_DEVSTACK_PORT (default 2525), SMTP_DEVSTACK_HOST (default 127.0.0.1),
 * SMTP_DEVSTACK_HTTP_PORT (default 8025), SMTP_DEVSTACK_DATA_DIR (default: memory only).
 */
import pino from 'pino';
import { startSmtpSink } from './smtp-sink';

function port(name: string, fallback: number): number {
  const text = process.env[name] ?? String(fallback);
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new Error(`${name} must be a port number, got "${text}"`);
  }
  return value;
}

async function main(): Promise<void> {
  const logger = pino({ name: 'devstack-smtp', level: process.env['LOG_LEVEL'] ?? 'info' });
  const sink = await startSmtpSink({
    port: port('SMTP_DEVSTACK_PORT', 2525),
    host: process.env['SMTP_DEVSTACK_HOST'] ?? '127.0.0.1',
    httpPort: port('SMTP_DEVSTACK_HTTP_PORT', 8025),
    dataDir: process.env['SMTP_DEVSTACK_DATA_DIR'] || undefined,
    log: (line, fields) => logger.info(fields ?? {}, line),
  });
  logger.info(
    { smtp: sink.url, http: sink.httpUrl },
    `SMTP sink at ${sink.url}, mailbox at ${sink.httpUrl}`,
  );
  const shutdown = (): void => {
    void sink.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
