import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { findHeader, startSmtpSink, type SmtpSink } from '../src';

function transport(url: string) {
  return nodemailer.createTransport(url);
}

describe('SMTP sink', () => {
  let sink: SmtpSink;
  beforeEach(async () => {
    sink = await startSmtpSink({ port: 0, httpPort: 0 });
  });
  afterEach(async () => {
    await sink.stop();
  });

  it('stores envelope, headers, subject, decoded text and HTML bodies, cc and Message-ID', async () => {
    const info = await transport(sink.url).sendMail({
      from: 'Trellis <noreply@trellis.dev>',
      to: 'Ann Example <Ann@Example.test>',
      cc: ['audit@example.test', '"Doe, Jo" <jo@example.test>'],
      subject: 'Grüße — your receipt №1',
      text: 'Hello Ann,\nyou sent EUR 12.50. Ünïcödé and a long line '.repeat(4),
      html: '<p>Hello <b>Ann</b> &amp; friends</p>',
      messageId: '<n-123@trellis>',
      headers: { 'X-Trellis-Trace-Id': 'abc123' },
    });
    expect(info.response).toMatch(/^250 OK: queued as [0-9A-F]{12}$/);
    const [message] = await sink.waitForMessages(() => true);
    expect(info.response).toContain(message.id);
    expect(message.envelope).toEqual({
      from: 'noreply@trellis.dev',
      to: ['ann@example.test', 'audit@example.test', 'jo@example.test'],
    });
    expect(message.subject).toBe('Grüße — your receipt №1');
    expect(message.messageId).toBe('<n-123@trellis>');
    expect(message.cc).toEqual(['audit@example.test', '"Doe, Jo" <jo@example.test>']);
    expect(message.text).toContain('Hello Ann,\nyou sent EUR 12.50. Ünïcödé');
    expect(message.html).toBe('<p>Hello <b>Ann</b> &amp; friends</p>');
    expect(findHeader(message.headers, 'x-trellis-trace-id')).toBe('abc123');
    expect(sink.messagesTo('JO@example.test')).toHaveLength(1);
    expect(sink.messagesTo('nobody@example.test')).toHaveLength(0);
  });

  it('answers scripted 4xx a number of times, then accepts; 5xx always', async () => {
    sink.failRecipients({
      'later@example.test': { code: 451, times: 2 },
      'gone@example.test': { code: 550 },
    });
    const client = transport(sink.url);
    const send = (to: string) =>
      client.sendMail({ from: 'a@trellis.dev', to, subject: 's', text: 't' });
    for (let i = 0; i < 2; i++) {
      await expect(send('later@example.test')).rejects.toMatchObject({ responseCode: 451 });
    }
    await expect(send('later@example.test')).resolves.toMatchObject({
      accepted: ['later@example.test'],
    });
    await expect(send('gone@example.test')).rejects.toMatchObject({ responseCode: 550 });
    await expect(send('gone@example.test')).rejects.toMatchObject({ responseCode: 550 });
    expect(sink.rejections().map((r) => `${r.address} ${r.code}`)).toEqual([
      'later@example.test 451',
      'later@example.test 451',
      'gone@example.test 550',
      'gone@example.test 550',
    ]);
    expect(sink.messages()).toHaveLength(1);
    await sink.clear();
    expect(sink.messages()).toHaveLength(0);
    await expect(send('gone@example.test')).resolves.toBeDefined();
  });

  it('serves the mailbox over HTTP: HTML list, HTML message view with headers, JSON', async () => {
    await transport(sink.url).sendMail({
      from: 'a@trellis.dev',
      to: 'b@example.test',
      subject: 'Welcome <script>',
      text: 'plain body',
      html: '<p>html body</p>',
    });
    const [message] = await sink.waitForMessages(() => true);
    const list = await fetch(`${sink.httpUrl}/`);
    expect(list.headers.get('content-type')).toContain('text/html');
    const listHtml = await list.text();
    expect(listHtml).toContain('Welcome &lt;script&gt;');
    expect(listHtml).toContain(`/messages/${message.id}`);
    const view = await (await fetch(`${sink.httpUrl}/messages/${message.id}`)).text();
    expect(view).toContain('plain body');
    expect(view).toContain('Message-ID');
    const api = (await (await fetch(`${sink.httpUrl}/api/messages`)).json()) as {
      total: number;
      messages: Array<{ id: string; subject: string; raw?: string }>;
    };
    expect(api.total).toBe(1);
    expect(api.messages[0]).toMatchObject({ id: message.id, subject: 'Welcome <script>' });
    expect(api.messages[0].raw).toBeUndefined();
    expect((await fetch(`${sink.httpUrl}/messages/nope`)).status).toBe(404);
    const counted = (await (await fetch(`${sink.httpUrl}/api/messages?limit=0`)).json()) as {
      total: number;
      messages: unknown[];
    };
    expect(counted).toEqual({ total: 1, start: 0, count: 0, messages: [] });
  });

  it('with a data directory, keeps messages across restarts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'smtp-sink-'));
    try {
      const first = await startSmtpSink({ port: 0, httpPort: false, dataDir: dir });
      await transport(first.url).sendMail({
        from: 'a@trellis.dev',
        to: 'keep@example.test',
        subject: 'kept',
        text: 'x',
      });
      await first.waitForMessages(() => true);
      await first.stop();
      const second = await startSmtpSink({ port: 0, httpPort: false, dataDir: dir });
      expect(second.messages().map((m) => m.subject)).toEqual(['kept']);
      await second.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('waitForMessages times out naming what it waited for', async () => {
    await expect(sink.waitForMessages(() => true, { count: 2, timeoutMs: 50 })).rejects.toThrow(
      'timed out after 50 ms waiting for 2 messages (have 0)',
    );
  });
});
