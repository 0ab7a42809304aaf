import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SinkMessage } from './smtp-sink';

export interface MailboxHttp {
  url: string;
  close(): Promise<void>;
}

/**
 * The sink's mailbox over HTTP, the way Mailpit/MailHog users expect it:
 *   GET /                    HTML list, newest first
 *   GET /messages/:id        HTML view: headers, text body, HTML body (sandboxed), source
 *   GET /api/messages        JSON list (newest first; ?to=address filters, ?limit=N caps)
 *   GET /api/messages/:id    JSON of one message
 *   DELETE /api/messages     clears the mailbox
 */
export async function startMailboxHttp(settings: {
  host: string;
  port: number;
  messages(): SinkMessage[];
  clear(): Promise<void>;
}): Promise<MailboxHttp> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://mailbox');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const newestFirst = () => [...settings.messages()].reverse();
    const byId = (id: string) => settings.messages().find((m) => m.id === id);
    try {
      if (req.method === 'DELETE' && path === '/api/messages') {
        void settings.clear().then(() => send(res, 204, 'text/plain', ''));
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        send(res, 405, 'text/plain', 'method not allowed\n');
        return;
      }
      if (path === '/api/messages') {
        const to = url.searchParams.get('to')?.toLowerCase();
        const list = newestFirst().filter((m) => !to || m.envelope.to.includes(to));
        const limitParam = url.searchParams.get('limit');
        const limit =
          limitParam !== null && /^\d+$/.test(limitParam) ? Number(limitParam) : list.length;
        sendJson(res, 200, { total: list.length, messages: list.slice(0, limit).map(withoutRaw) });
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
        if (message) send(res, 200, 'text/html; charset=utf-8', messagePage(message));
        else
          send(res, 404, 'text/html; charset=utf-8', page('Not found', '<p>No such message.</p>'));
        return;
      }
      if (path === '/') {
        send(res, 200, 'text/html; charset=utf-8', listPage(newestFirst()));
        return;
      }
      send(res, 404, 'text/plain', 'not found\n');
    } catch (err) {
      send(res, 500, 'text/plain', `error: ${(err as Error).message}\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${settings.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
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
</style></head><body>${body}</body></html>\n`;
}

function listPage(messages: SinkMessage[]): string {
  const rows = messages
    .map(
      (m) => `<tr><td class="muted">${escapeHtml(m.receivedAt)}</td>
<td>${escapeHtml(m.envelope.to.join(', '))}</td>
<td><a href="/messages/${encodeURIComponent(m.id)}">${escapeHtml(m.subject || '(no subject)')}</a></td>
<td>${escapeHtml(m.from)}</td><td class="muted">${escapeHtml(m.id)}</td></tr>`,
    )
    .join('\n');
  return page(
    'SMTP sink',
    `<h1>SMTP sink <span class="muted">(${messages.length} messages)</span></h1>
<p class="muted">JSON: <a href="/api/messages">/api/messages</a></p>
<table><tr><th>Received</th><th>To</th><th>Subject</th><th>From</th><th>Id</th></tr>
${rows || '<tr><td colspan="5" class="muted">No mail yet.</td></tr>'}</table>`,
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
