import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { MailStore } from './mail-store';
import { startMailboxHttp, type MailboxHttp } from './mailbox-http';
import {
  composeDsn,
  sendDsn,
  verifyDkim,
  type AsyncBounce,
  type DkimResult,
  type SentDsn,
} from './deliverability';
import { bareAddress, parseMail, type MimeHeader } from './mime';

export interface SmtpSinkOptions {
  /** SMTP port; default 2525, 0 picks a free one. */
  port?: number;
  /** Bind address; default 127.0.0.1. */
  host?: string;
  /**
   * With a directory, messages are appended to `messages.jsonl` there (fdatasync'ed before the
   * 250 reply) and reloaded at start.
   */
  dataDir?: string;
  /** Port of the HTTP mailbox (GET /, /messages/:id, /api/messages); default 8025, 0 picks a free one, false turns it off. */
  httpPort?: number | false;
  /** Largest message accepted, in bytes (default 25 MiB). */
  maxMessageBytes?: number;
  /**
   * DNS TXT answers for DKIM key look-ups (`<selector>._domainkey.<domain>` → `v=DKIM1; k=rsa; p=…`),
   * so signatures verify without DNS; other names go to DNS.
   */
  dkimDnsRecords?: Record<string, string>;
  /** Called with one line per notable event (start, accepted, rejected); default silent. No addresses. */
  log?: (line: string, fields?: Record<string, unknown>) => void;
}

/** One accepted message as stored. */
export interface SinkMessage {
  /** The sink's id, also the queue id in its acceptance reply ("250 OK: queued as <id>"). */
  id: string;
  receivedAt: string;
  /** The SMTP envelope (MAIL FROM and the accepted RCPT TO addresses, lower-cased). */
  envelope: { from: string; to: string[] };
  /** Every header, in order, unfolded and decoded. */
  headers: MimeHeader[];
  /** The Message-ID header as sent (with angle brackets). */
  messageId: string;
  subject: string;
  from: string;
  /** The To header's addresses (as written, e.g. `Ann <ann@x.test>`). */
  to: string[];
  cc: string[];
  text: string;
  html: string;
  attachments: Array<{ contentType: string; filename: string; size: number }>;
  size: number;
  /** The result of each DKIM-Signature header (absent when the mail has none). */
  dkim?: DkimResult[];
  /** The message source as received. */
  raw: string;
}

/** A scripted SMTP answer to RCPT TO for one address. */
export interface RecipientFailure {
  /** The reply code, e.g. 451 (transient) or 550 (permanent). */
  code: number;
  /** How many times to answer with it before accepting again; unset = always. */
  times?: number;
  /** The reply text; a sensible one per code class by default. */
  message?: string;
}

/** One RCPT TO the sink refused. */
export interface SinkRejection {
  address: string;
  code: number;
  message: string;
  at: string;
}

export interface SmtpSink {
  /** `smtp://127.0.0.1:PORT`, ready for SMTP_URL. */
  url: string;
  host: string;
  port: number;
  /** The HTTP mailbox, e.g. `http://127.0.0.1:8025`, or undefined when turned off. */
  httpUrl: string | undefined;
  /** Every stored message, oldest first; with a predicate, only matching ones. */
  messages(filter?: (message: SinkMessage) => boolean): SinkMessage[];
  /** Messages whose envelope or headers name this address (To or Cc), lower-case compare. */
  messagesTo(address: string): SinkMessage[];
  /** Resolves once `count` messages match (default 1); rejects after `timeoutMs` (default 10 s). */
  waitForMessages(
    filter: (message: SinkMessage) => boolean,
    options?: { count?: number; timeoutMs?: number },
  ): Promise<SinkMessage[]>;
  /** Resolves with the first message to this address (To or Cc). */
  waitForMessageTo(address: string, timeoutMs?: number): Promise<SinkMessage>;
  /** Scripts failures per recipient; replaces earlier rules for the same addresses. */
  failRecipients(rules: Record<string, RecipientFailure>): void;
  /** Every refused RCPT TO so far. */
  rejections(): SinkRejection[];
  /**
   * Accepts mail for these addresses and then bounces it asynchronously, the way a remote MTA
   * does: an RFC 3464 DSN sent with the null sender to the mail's return path (MAIL FROM) through
   * `relayUrl` (smtp://host:port, the bounce domain's MX — in tests the service's bounce intake).
   */
  bounceAsync(relayUrl: string, rules: Record<string, AsyncBounce>): void;
  /** Every DSN the sink sent (or failed to send) so far. */
  sentDsns(): SentDsn[];
  /** Forgets stored messages, rejections and failure rules (and truncates the data file). */
  clear(): Promise<void>;
  stop(): Promise<void>;
}

const DEFAULT_TEXT: Record<number, string> = {
  4: '4.7.1 Try again later',
  5: '5.1.1 Mailbox unavailable',
};

/**
 * An SMTP sink for development and tests (docs/architecture.md "The devstack"): accepts every mail,
 * stores envelope, headers and decoded bodies, and can refuse chosen recipients with 4xx/5xx.
 * No relaying, no TLS, any AUTH accepted. A small HTTP mailbox lists what arrived.
 */
export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const host = options.host ?? '127.0.0.1';
  const log = options.log ?? (() => undefined);
  const store = await MailStore.open(options.dataDir, log);
  const stored = store.messages;
  const rejected: SinkRejection[] = [];
  const rules = new Map<string, RecipientFailure & { remaining: number }>();
  const bounces = new Map<string, AsyncBounce & { relayUrl: string }>();
  const dsns: SentDsn[] = [];
  const pendingDsns = new Set<Promise<void>>();
  const bounceLater = (message: SinkMessage) => {
    const returnPath = message.envelope.from;
    if (!returnPath) return; // the null sender: a bounce is never bounced
    const headerEnd = message.raw.search(/\r?\n\r?\n/);
    const originalHeaders = headerEnd >= 0 ? message.raw.slice(0, headerEnd) : message.raw;
    for (const recipient of message.envelope.to) {
      const rule = bounces.get(recipient);
      if (!rule) continue;
      const status = rule.status ?? '5.1.1';
      const diagnostic =
        rule.diagnostic ??
        `smtp; ${status.startsWith('5.') ? 550 : 450} ${status} mailbox unavailable`;
      const raw = composeDsn({
        reportingMta: 'sink.trellis.test',
        returnPath,
        recipient,
        status,
        diagnostic,
        originalHeaders,
      });
      const entry: SentDsn = { returnPath, recipient, status, at: new Date().toISOString() };
      const sending = sendDsn(rule.relayUrl, returnPath, raw).then(
        () => {
          dsns.push(entry);
          log('dsn sent', { id: message.id, status });
        },
        (err: unknown) => {
          dsns.push({ ...entry, error: (err as Error).message });
          log('dsn not sent', { id: message.id, error: (err as Error).message });
        },
      );
      pendingDsns.add(sending);
      void sending.finally(() => pendingDsns.delete(sending));
    }
  };
  const events = new EventEmitter();
  events.setMaxListeners(0);

  const server = new SMTPServer({
    name: 'trellis-smtp-sink',
    banner: 'Trellis devstack SMTP sink',
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    size: options.maxMessageBytes ?? 25 * 1024 * 1024,
    logger: false,
    onAuth(auth, _session, callback) {
      callback(null, { user: auth.username ?? 'anonymous' });
    },
    onRcptTo(address, _session, callback) {
      const addr = address.address.toLowerCase();
      const rule = rules.get(addr);
      if (rule && rule.remaining !== 0) {
        if (rule.remaining > 0) rule.remaining--;
        const text = rule.message ?? DEFAULT_TEXT[Math.floor(rule.code / 100)] ?? 'refused';
        rejected.push({
          address: addr,
          code: rule.code,
          message: text,
          at: new Date().toISOString(),
        });
        log('recipient refused', { code: rule.code });
        const err = new Error(text) as Error & { responseCode: number };
        err.responseCode = rule.code;
        callback(err);
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (err: Error) => callback(err));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        const id = randomBytes(6).toString('hex').toUpperCase();
        let message: SinkMessage;
        try {
          const mail = parseMail(raw);
          message = {
            id,
            receivedAt: new Date().toISOString(),
            envelope: {
              from: session.envelope.mailFrom
                ? session.envelope.mailFrom.address.toLowerCase()
                : '',
              to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
            },
            ...mail,
            size: raw.length,
            raw: raw.toString('utf8'),
          };
        } catch (err) {
          callback(err as Error);
          return;
        }
        // Only signed mail is verified: unsigned mail (most tests, the bench) pays nothing.
        const verified = message.headers.some((h) => h.name.toLowerCase() === 'dkim-signature')
          ? verifyDkim(raw, options.dkimDnsRecords).then(
              (dkim) => {
                message.dkim = dkim;
              },
              // A verifier error is a finding about the mail, never a reason to refuse it.
              (err: unknown) => {
                message.dkim = [
                  {
                    domain: '',
                    selector: '',
                    result: 'temperror',
                    comment: (err as Error).message,
                  },
                ];
              },
            )
          : Promise.resolve();
        // 250 only once the message is durable: a sink that crashes after it loses no accepted mail.
        verified
          .then(() => store.add(message))
          .then(
            () => {
              log('message accepted', { id, recipients: message.envelope.to.length });
              events.emit('message', message);
              callback(null, `OK: queued as ${id}`);
              bounceLater(message);
            },
            (err: unknown) => {
              log('message not stored', { id, error: (err as Error).message });
              const refusal = new Error('4.3.0 Could not store the message, try again later');
              callback(Object.assign(refusal, { responseCode: 451 }));
            },
          );
      });
    },
  });
  server.on('error', (err: Error) => log(`smtp server error: ${err.message}`));

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(options.port ?? 2525, host, () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const port = (server.server.address() as AddressInfo).port;

  const messages = (filter?: (m: SinkMessage) => boolean) =>
    filter ? stored.filter(filter) : [...stored];
  const isTo = (address: string) => {
    const wanted = address.toLowerCase();
    return (m: SinkMessage) =>
      m.envelope.to.includes(wanted) ||
      [...m.to, ...m.cc].some((value) => bareAddress(value) === wanted);
  };

  let http: MailboxHttp | undefined;
  if (options.httpPort !== false) {
    http = await startMailboxHttp({
      host,
      port: options.httpPort ?? 8025,
      messages: () => stored,
      clear: () => sink.clear(),
    });
  }

  const waitForMessages: SmtpSink['waitForMessages'] = (filter, opts = {}) => {
    const count = opts.count ?? 1;
    const timeoutMs = opts.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = stored.filter(filter);
        if (found.length < count) return false;
        cleanup();
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        const found = stored.filter(filter).length;
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${count} messages (have ${found})`,
          ),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        events.off('message', check);
      };
      if (!check()) events.on('message', check);
    });
  };

  const sink: SmtpSink = {
    url: `smtp://${host}:${port}`,
    host,
    port,
    httpUrl: http?.url,
    messages,
    messagesTo: (address) => stored.filter(isTo(address)),
    waitForMessages,
    async waitForMessageTo(address, timeoutMs) {
      const [first] = await waitForMessages(isTo(address), { timeoutMs });
      return first;
    },
    failRecipients(newRules) {
      for (const [address, rule] of Object.entries(newRules)) {
        rules.set(address.toLowerCase(), { ...rule, remaining: rule.times ?? -1 });
      }
    },
    rejections: () => [...rejected],
    bounceAsync(relayUrl, newRules) {
      for (const [address, rule] of Object.entries(newRules)) {
        bounces.set(address.toLowerCase(), { ...rule, relayUrl });
      }
    },
    sentDsns: () => [...dsns],
    async clear() {
      rejected.length = 0;
      rules.clear();
      bounces.clear();
      dsns.length = 0;
      await store.clear();
    },
    async stop() {
      await http?.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([...pendingDsns]);
      await store.close();
    },
  };
  log(`SMTP sink at ${sink.url}`, { http: sink.httpUrl });
  return sink;
}
