import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type { Logger } from '@trellis/platform/logging';
import type { RecordDeliveryReport } from '../../app/record-delivery-report.command';
import { parseDsn } from './dsn';

export interface BounceSmtpSettings {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  recordDeliveryReport: RecordDeliveryReport;
  logger: Logger;
  /** Largest DSN accepted (they quote the original message), default 10 MiB. */
  maxMessageBytes?: number;
}

export interface BounceSmtpListener {
  port: number;
  url: string;
  close(): Promise<void>;
}

/**
 * The bounce intake as an SMTP server, the MX of the bounce domain: RCPT TO is accepted only for a
 * VERP return path this service issued (550 otherwise: it is not a mailbox for anyone else), the
 * DATA is parsed as a DSN and recorded before the 250, so a failure answers 451 and the reporting
 * MTA tries again; mail that is no DSN (an auto-reply) is accepted and dropped.
 */
export async function startBounceSmtpListener(
  settings: BounceSmtpSettings,
): Promise<BounceSmtpListener> {
  const { logger, recordDeliveryReport } = settings;
  const server = new SMTPServer({
    name: 'trellis-bounce-intake',
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    size: settings.maxMessageBytes ?? 10 * 1024 * 1024,
    logger: false,
    onRcptTo(address, _session, callback) {
      if (recordDeliveryReport.knowsReturnPath(address.address)) return callback();
      const err = new Error('5.1.1 no such mailbox') as Error & { responseCode: number };
      err.responseCode = 550;
      callback(err);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (err: Error) => callback(err));
      stream.on('end', () => {
        if ((stream as unknown as { sizeExceeded?: boolean }).sizeExceeded) {
          const err = new Error('5.3.4 message too big') as Error & { responseCode: number };
          err.responseCode = 552;
          callback(err);
          return;
        }
        void (async () => {
          const reports = await parseDsn(Buffer.concat(chunks));
          for (const rcpt of session.envelope.rcptTo) {
            const result = await recordDeliveryReport.execute({
              via: 'dsn',
              returnPath: rcpt.address,
              reports,
            });
            if (result.ok)
              logger.info(
                { notificationId: result.notificationId, bounces: result.bounces },
                'DSN recorded',
              );
          }
        })().then(
          () => callback(),
          (err: unknown) => {
            logger.error({ err }, 'recording a DSN failed');
            const reply = new Error('4.3.0 try again later') as Error & { responseCode: number };
            reply.responseCode = 451;
            callback(reply);
          },
        );
      });
    },
  });
  server.on('error', (err: Error) => logger.warn({ err }, 'bounce intake smtp error'));
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(settings.port, settings.host, () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const port = (server.server.address() as AddressInfo).port;
  const host = settings.host === '0.0.0.0' ? '127.0.0.1' : settings.host;
  return {
    port,
    url: `smtp://${host}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
