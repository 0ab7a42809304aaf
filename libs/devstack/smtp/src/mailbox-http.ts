import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOn } from '@trellis/platform/bootstrap';
import { matchesQuery, newestFirstPage, sentTo, type MailboxPage } from './mailbox-query';
import type { SinkMessage } from './smtp-sink';

export interface MailboxHttp {
  url: string;
  close(): Promise<void>;
}

/** Rows per HTML page by default (Mailpit's default page size), and at most. */
const PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 500;

class BadRequest extends Error {}

/**
 * The sink's mailbox over HTTP, the way Mailpit/MailHog users expect it (see README.md):
 *   GET /[?query=&start=&limit=]     HTML list, newest first, paged, with search and "delete all"
 *   GET /messages/:id                HTML view: headers, text body, HTML body (sandboxed), source
 *   POST /delete-all                 empties the mailbox (the list page's button), back to /
 *   GET /api/messages                JSON list, newest first; ?to=, ?query=, ?start=, ?limit=
 *   GET /api/messages/:id            JSON of one message
 *   DELETE /api/messages             empties the mailbox
 */
export async function startMailboxHttp(settings: {
  host: string;
  port: number;
  /** Every stored message, oldest first. */
  messages(): readonly SinkMessage[];
  clear(): Promise<void>;
}): Promise<MailboxHttp> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://mailbox');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const byId = (id: string) => settings.messages().find((m) => m.id === id);
    const clear = (done: () => void) =>
      void settings.clear().then(done, (err: unknown) => {
        send(res, 500, 'text/plain', `error: ${(err as Error).message}\n`);
      });
    try {
      if (req.method === 'DELETE' && path === '/api/messages') {
        clear(() => send(res, 204, 'text/plain', ''));
        return;
      }
      if (req.method === 'POST' && path === '/delete-all') {
        // A form post is a "simple" cross-site request: only this page's own form may empty the box.
        if (!sameOrigin(req)) {
          send(res, 403, 'text/plain', 'cross-site request refused\n');
          return;
        }
        clear(() => {
          res.writeHead(303, { location: '/', 'cache-control': 'no-store' });
          res.end();
        });
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        send(res, 405, 'text/plain', 'method not allowed\n');
        return;
      }
      if (path === '/api/messages') {
        const to = url.searchParams.get('to');
        const byQuery = matchesQuery(url.searchParams.get('query') ?? '');
        const byTo = to ? sentTo(to) : undefined;
        const filter = byTo ? (m: SinkMessage) => byTo(m) && byQuery(m) : byQuery;
        const start = count(url, 'start') ?? 0;
        // Without ?limit= the whole list, as this endpoint has always answered.
        const limit = count(url, 'limit') ?? Number.MAX_SAFE_INTEGER;
        const page = newestFirstPage(settings.messages(), filter, start, limit);
        sendJson(res, 200, {
          total: page.total,
          start: page.start,
          count: page.messages.length,
          messages: page.messages.map(withoutRaw),
        });
        return;
      }
      const apiOne = /^\/api\/messages\/([^/]+)$/.exec(path);
      if (apiOne) {
        const message = byId(apiOne[1]);
        if (message) sendJson(res, 200, message);
        else sendJson(res, 404, { error: 'no such message' });
        return;
      }
      const view = /^\/messages\/([^/]+)$/.exec(path);
      if (view) {
        const message = byId(view[1]);
        if (message) sendHtml(res, 200, messagePage(message));
        else sendHtml(res, 404, page('Not found', '<p>No such message.</p>'));
        return;
      }
      if (path === '/') {
        const query = url.searchParams.get('query') ?? '';
        const start = count(url, 'start') ?? 0;
        const limit = Math.min(Math.max(count(url, 'limit') ?? PAGE_SIZE, 1), MAX_PAGE_SIZE);
        const stored = settings.messages();
        const found = newestFirstPage(stored, matchesQuery(query), start, limit);
        sendHtml(res, 200, listPage(found, { query, limit, stored: stored.length }));
        return;
      }
      send(res, 404, 'text/plain', 'not found\n');
    } catch (err) {
      if (err instanceof BadRequest) send(res, 400, 'text/plain', `${err.message}\n`);
      else send(res, 500, 'text/plain', `error: ${(err as Error).message}\n`);
    }
  });
  const { port } = await listenOn(server, settings.port, settings.host);
  return {
    url: `http://${settings.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A non-negative integer query parameter, or undefined when absent. */
function count(url: URL, name: string): number | undefined {
  const text = url.searchParams.get(name);
  if (text === null || text === '') return undefined;
  if (!/^\d+$/.test(text)) throw new BadRequest(`${name} must be a non-negative integer`);
  return Math.min(Number(text), Number.MAX_SAFE_INTEGER);
}

/** True unless the browser says the request came from another site (curl sends neither header). */
function sameOrigin(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = req.headers.origin;
  return origin === undefined || origin === `http://${req.headers.host ?? ''}`;
}

function withoutRaw(message: SinkMessage): Omit<SinkMessage, 'raw'> {
  const { raw: _raw, ...rest } = message;
  return rest;
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(body, null, 2) + '\n');
}

function sendHtml(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    // Defence in depth behind escaping: no script runs on these pages (mail HTML is in a sandbox).
    'content-security-policy':
      "default-src 'none'; style-src 'unsafe-inline'; img-src * data:; form-action 'self'; base-uri 'none'",
  });
  res.end(body);
}

function escapeHtml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] ?? ch,
  );
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{padding:.35rem .6rem;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
th{background:#f4f4f4}pre{background:#f8f8f8;padding:1rem;overflow:auto;white-space:pre-wrap}
iframe{width:100%;height:28rem;border:1px solid #ccc}a{color:#0645ad}.muted{color:#777}
.bar{display:flex;gap:1rem;align-items:center;flex-wrap:wrap;margin:1rem 0}
.bar input[type=search]{width:24rem;padding:.3rem}nav.pages{margin:1rem 0}
details.danger summary{color:#a00;cursor:pointer}details.danger button{color:#fff;background:#a00;border:0;padding:.3rem .8rem;margin-left:.5rem}
</style></head><body>${body}</body></html>\n`;
}

function listPage(
  found: MailboxPage,
  view: { query: string; limit: number; stored: number },
): string {
  const { total, start, messages } = found;
  const link = (from: number) => {
    const params = new URLSearchParams();
    if (view.query) params.set('query', view.query);
    if (from > 0) params.set('start', String(from));
    if (view.limit !== PAGE_SIZE) params.set('limit', String(view.limit));
    const search = params.toString();
    return escapeHtml(search ? `/?${search}` : '/');
  };
  const rows = messages
    .map(
      (m) => `<tr><td class="muted">${escapeHtml(m.receivedAt)}</td>
<td>${escapeHtml(m.envelope.to.join(', '))}</td>
<td><a href="/messages/${encodeURIComponent(m.id)}">${escapeHtml(m.subject || '(no subject)')}</a></td>
<td>${escapeHtml(m.from)}</td><td class="muted">${escapeHtml(m.id)}</td></tr>`,
    )
    .join('\n');
  const empty = view.query ? 'No message matches.' : 'No mail yet.';
  const shown = messages.length
    ? `${start + 1}–${start + messages.length} of ${total}`
    : `0 of ${total}`;
  const matching = view.query ? ` matching <b>${escapeHtml(view.query)}</b>` : '';
  const prev =
    start > 0 ? `<a href="${link(Math.max(start - view.limit, 0))}">&larr; newer</a>` : '';
  const next =
    start + messages.length < total ? `<a href="${link(start + view.limit)}">older &rarr;</a>` : '';
  const pages = `<nav class="pages">${[prev, `<span class="muted">${shown}${matching}, newest first</span>`, next].filter(Boolean).join(' · ')}</nav>`;
  const api = new URLSearchParams({ start: String(start), limit: String(view.limit) });
  if (view.query) api.set('query', view.query);
  const deleteAll = view.stored
    ? `<details class="danger"><summary>Delete all ${view.stored} messages…</summary>
<form method="post" action="/delete-all">Sure?<button type="submit">Delete all ${view.stored} messages</button></form></details>`
    : '';
  return page(
    'SMTP sink',
    `<h1>SMTP sink <span class="muted">(${view.stored} messages)</span></h1>
<div class="bar"><form method="get" action="/">
<input type="search" name="query" value="${escapeHtml(view.query)}" placeholder="to:ann@example.test subject:welcome" aria-label="Search by recipient or subject">
<button type="submit">Search</button>${view.query ? ' <a href="/">clear</a>' : ''}</form>
${deleteAll}</div>
${pages}
<table><tr><th>Received</th><th>To</th><th>Subject</th><th>From</th><th>Id</th></tr>
${rows || `<tr><td colspan="5" class="muted">${empty}</td></tr>`}</table>
${pages}
<p class="muted">JSON: <a href="/api/messages?${escapeHtml(api.toString())}">/api/messages?${escapeHtml(api.toString())}</a></p>`,
  );
}

function messagePage(m: SinkMessage): string {
  const headers = m.headers
    .map((h) => `<tr><th>${escapeHtml(h.name)}</th><td>${escapeHtml(h.value)}</td></tr>`)
    .join('\n');
  const html = m.html
    ? `<h2>HTML body</h2><iframe sandbox="" srcdoc="${escapeHtml(m.html)}"></iframe>`
    : '';
  return page(
    m.subject || '(no subject)',
    `<p><a href="/">&larr; all messages</a></p>
<h1>${escapeHtml(m.subject || '(no subject)')}</h1>
<table>
<tr><th>Sink id</th><td>${escapeHtml(m.id)}</td></tr>
<tr><th>Envelope from</th><td>${escapeHtml(m.envelope.from)}</td></tr>
<tr><th>Envelope to</th><td>${escapeHtml(m.envelope.to.join(', '))}</td></tr>
<tr><th>Received</th><td>${escapeHtml(m.receivedAt)}</td></tr>
</table>
<h2>Text body</h2><pre>${escapeHtml(m.text)}</pre>
${html}
<h2>Headers</h2><table>${headers}</table>
<h2>Source</h2><pre>${escapeHtml(m.raw)}</pre>`,
  );
}
