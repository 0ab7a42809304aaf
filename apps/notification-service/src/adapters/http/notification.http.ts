import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { z } from 'zod';
import { listenOn } from '@trellis/platform/bootstrap';
import type { Logger } from '@trellis/platform/logging';
import type { RecordDeliveryReport } from '../../app/record-delivery-report.command';
import type { KeyRing } from '../../app/support/key-ring';
import type {
  UnsubscribeByToken,
  UnsubscribeByTokenResult,
} from '../../app/unsubscribe-by-token.command';

export interface NotificationHttpSettings {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  unsubscribeByToken: UnsubscribeByToken;
  /** With both, POST /webhooks/delivery-events takes providers' signed bounce/complaint events. */
  recordDeliveryReport?: RecordDeliveryReport;
  webhookKeys?: KeyRing;
  logger: Logger;
}

export interface NotificationHttp {
  url: string;
  port: number;
  close(): Promise<void>;
}

const MAX_FORM_BYTES = 16 * 1024;
const MAX_WEBHOOK_BYTES = 1024 * 1024;
/** A webhook signature older or newer than this is a replay (or a clock far off). */
const WEBHOOK_TOLERANCE_S = 300;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The notification-service's HTTP side (node:http, no framework for three routes):
 *   POST /unsubscribe?token=…   RFC 8058 one-click (body `List-Unsubscribe=One-Click`) or the
 *                               confirmation page's form; suppresses the token's address for its list
 *   GET  /unsubscribe?token=…   a plain confirmation page whose form POSTs; writes nothing itself,
 *                               since mail scanners fetch links
 *   POST /webhooks/delivery-events   providers' bounce/complaint events, HMAC-signed
 * No cookies, no sessions: the token is the only credential. A bad token is 400 (malformed) or
 * 403 (forged, unknown key, expired) and writes nothing.
 */
export async function startNotificationHttp(
  settings: NotificationHttpSettings,
): Promise<NotificationHttp> {
  const { logger } = settings;
  const server = createServer((req, res) => {
    route(settings, req, res).catch((err: unknown) => {
      if (err instanceof HttpError) {
        // The unread rest of an oversized body is not worth keeping the connection for.
        if (err.status === 413) res.setHeader('connection', 'close');
        sendText(res, err.status, `${err.message}\n`);
        return;
      }
      logger.error({ err }, 'notification http request failed');
      sendText(res, 500, 'internal error\n');
    });
  });
  const { port, host } = await listenOn(server, settings.port, settings.host);
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function route(
  settings: NotificationHttpSettings,
  req: IncomingMessage,
  res: ServerResponse,
) {
  const url = new URL(req.url ?? '/', 'http://notification');
  if (url.pathname === '/unsubscribe') {
    if (req.method === 'POST') return unsubscribePost(settings, url, req, res);
    if (req.method === 'GET' || req.method === 'HEAD') return unsubscribeGet(settings, url, res);
    res.setHeader('allow', 'GET, HEAD, POST');
    throw new HttpError(405, 'method not allowed');
  }
  if (
    url.pathname === '/webhooks/delivery-events' &&
    settings.recordDeliveryReport &&
    settings.webhookKeys
  ) {
    if (req.method !== 'POST') throw new HttpError(405, 'method not allowed');
    return deliveryEvents(settings.recordDeliveryReport, settings.webhookKeys, req, res);
  }
  throw new HttpError(404, 'not found');
}

async function unsubscribePost(
  settings: NotificationHttpSettings,
  url: URL,
  req: IncomingMessage,
  res: ServerResponse,
) {
  const body = (await readBody(req, MAX_FORM_BYTES)).toString('utf8');
  const form = new URLSearchParams(
    /multipart\/form-data/i.test(req.headers['content-type'] ?? '') ? '' : body,
  );
  const token = url.searchParams.get('token') ?? form.get('token') ?? '';
  // RFC 8058 §3.1: the one-click POST carries List-Unsubscribe=One-Click, urlencoded or as a
  // multipart/form-data field (Gmail sends the latter); our own page's form says `confirm`.
  const oneClick =
    form.get('List-Unsubscribe') === 'One-Click' ||
    /name="List-Unsubscribe"\r?\n(?:[^\r\n]+\r?\n)*\r?\nOne-Click\r?\n/.test(body);
  const source = oneClick ? 'one-click' : 'confirm-page';
  const result = await settings.unsubscribeByToken.execute({ token, source });
  refuseBadToken(result);
  if (!result.ok) return;
  settings.logger.info(
    { list: result.list, source, created: result.created },
    'unsubscribed by token',
  );
  if (source === 'one-click') sendText(res, 200, 'unsubscribed\n');
  else
    sendHtml(
      res,
      200,
      page('Unsubscribed', `<p>You will no longer receive ${escapeHtml(result.list)} mail.</p>`),
    );
}

function unsubscribeGet(settings: NotificationHttpSettings, url: URL, res: ServerResponse) {
  const token = url.searchParams.get('token') ?? '';
  const result = settings.unsubscribeByToken.preview(token);
  refuseBadToken(result);
  if (!result.ok) return;
  const action = `/unsubscribe?token=${encodeURIComponent(token)}`;
  sendHtml(
    res,
    200,
    page(
      'Unsubscribe',
      `<p>Stop receiving ${escapeHtml(result.list)} mail?</p>` +
        `<form method="post" action="${escapeHtml(action)}"><input type="hidden" name="confirm" value="yes">` +
        `<button type="submit">Unsubscribe</button></form>`,
    ),
  );
}

function refuseBadToken(result: UnsubscribeByTokenResult): void {
  if (result.ok) return;
  if (result.reason === 'malformed') throw new HttpError(400, 'malformed unsubscribe token');
  // Signed by us, but its mail is gone: nothing to unsubscribe.
  if (result.reason === 'unknown-notification') throw new HttpError(404, 'unknown mail');
  throw new HttpError(
    403,
    result.reason === 'expired' ? 'unsubscribe link expired' : 'invalid unsubscribe token',
  );
}

const recipientReport = z.object({
  recipient: z.string().email(),
  action: z.enum(['failed', 'delayed', 'delivered', 'relayed', 'expanded']).default('failed'),
  status: z.string().regex(/^[245]\.\d{1,3}\.\d{1,3}$/),
  diagnostic: z.string().max(1000).default(''),
});
const deliveryEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('bounce'), notificationId: z.string().uuid() }).merge(recipientReport),
  z.object({
    type: z.literal('complaint'),
    notificationId: z.string().uuid(),
    recipient: z.string().email(),
    feedbackType: z.string().max(100).default('abuse'),
  }),
]);
const deliveryEvents_ = z.object({ events: z.array(deliveryEvent).max(1000) });

/**
 * `X-Trellis-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` under any key of
 * the webhook ring (so a provider's secret can be rotated), within ±5 min of now.
 */
async function deliveryEvents(
  useCase: RecordDeliveryReport,
  keys: KeyRing,
  req: IncomingMessage,
  res: ServerResponse,
) {
  const body = await readBody(req, MAX_WEBHOOK_BYTES);
  const signature = String(req.headers['x-trellis-signature'] ?? '');
  const t = /(?:^|,)\s*t=(\d{1,12})(?:,|$)/.exec(signature)?.[1];
  const v1 = /(?:^|,)\s*v1=([0-9a-f]{64})(?:,|$)/.exec(signature)?.[1];
  const fresh = t !== undefined && Math.abs(Date.now() / 1000 - Number(t)) <= WEBHOOK_TOLERANCE_S;
  if (
    !t ||
    !v1 ||
    !fresh ||
    !keys.verify(`${t}.${body.toString('utf8')}`, Buffer.from(v1, 'hex'))
  ) {
    throw new HttpError(401, 'bad or missing X-Trellis-Signature');
  }
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'body: not JSON');
  }
  const parsed = deliveryEvents_.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new HttpError(400, `${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  let bounces = 0;
  let complaints = 0;
  for (const event of parsed.data.events) {
    const { notificationId } = event;
    const result =
      event.type === 'complaint'
        ? await useCase.execute({
            via: 'webhook',
            notificationId,
            complaint: { recipient: event.recipient, feedbackType: event.feedbackType },
          })
        : await useCase.execute({ via: 'webhook', notificationId, bounce: event });
    if (result.ok) {
      bounces += result.bounces;
      complaints += result.complaints;
    }
  }
  sendJson(res, 200, { bounces, complaints });
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tooLarge = () => {
      // Answer 413 and discard the rest: destroying the request here reset the connection
      // before the client could read the status.
      req.removeAllListeners('data');
      req.resume();
      reject(new HttpError(413, 'request body too large'));
    };
    if (Number(req.headers['content-length']) > limit) return tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return tooLarge();
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendText(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(JSON.stringify(body) + '\n');
}

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    // The page has no scripts and no third-party anything; form posts go only back here.
    'content-security-policy': "default-src 'none'; form-action 'self'",
    'referrer-policy': 'no-referrer',
  });
  res.end(html);
}

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>\n`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
