import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSmtpSink, type SinkMessage, type SmtpSink } from '../src';

/** Message `i` of a seeded mailbox: arrived i seconds after the first, to user(i mod 7). */
function seeded(i: number, overrides: Partial<SinkMessage> = {}): SinkMessage {
  const to = `user${i % 7}@example.test`;
  return {
    id: `M${String(i).padStart(11, '0')}`,
    receivedAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
    envelope: { from: 'noreply@trellis.dev', to: [to] },
    headers: [{ name: 'Subject', value: `Message ${i}` }],
    messageId: `<m${i}@trellis>`,
    subject: `Message ${i}`,
    from: 'Trellis <noreply@trellis.dev>',
    to: [to],
    cc: [],
    text: `body ${i}`,
    html: '',
    attachments: [],
    size: 100,
    raw: `Subject: Message ${i}\r\n\r\nbody ${i}\r\n`,
    ...overrides,
  };
}

/** A sink whose data directory already holds `messages` (as a restart after a load run would). */
async function sinkWith(messages: SinkMessage[]): Promise<{ sink: SmtpSink; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'smtp-mailbox-'));
  const lines = messages.map((m) => JSON.stringify(m) + '\n').join('');
  await writeFile(join(dir, 'messages.jsonl'), lines);
  const sink = await startSmtpSink({ port: 0, httpPort: 0, dataDir: dir });
  return { sink, dir };
}

interface ListJson {
  total: number;
  start: number;
  count: number;
  messages: Array<{ id: string; subject: string; envelope: { to: string[] }; raw?: string }>;
}

const json = async (url: string) => (await (await fetch(url)).json()) as ListJson;
/** The message ids a list page links to, in page order. */
const linkedIds = (html: string) =>
  [...html.matchAll(/href="\/messages\/(\w+)"/g)].map((m) => m[1]);
const ids = (...indexes: number[]) => indexes.map((i) => seeded(i).id);
const range = (from: number, to: number) =>
  Array.from({ length: Math.abs(to - from) + 1 }, (_, k) => (from > to ? from - k : from + k));

describe('mailbox over HTTP with 6,000 messages', () => {
  let sink: SmtpSink;
  let dir: string;
  beforeAll(async () => {
    ({ sink, dir } = await sinkWith(range(0, 5999).map((i) => seeded(i))));
  });
  afterAll(async () => {
    await sink.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('the HTML list holds one page of 50 rows, newest first, with links to older pages', async () => {
    const res = await fetch(`${sink.httpUrl}/`);
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(linkedIds(html)).toEqual(ids(...range(5999, 5950)));
    expect(html.length).toBeLessThan(100_000);
    expect(html).toContain('(6000 messages)');
    expect(html).toContain('1–50 of 6000');
    expect(html).toContain('href="/?start=50">older');
    expect(html).not.toContain('newer</a>');

    const second = await (await fetch(`${sink.httpUrl}/?start=50`)).text();
    expect(linkedIds(second)).toEqual(ids(...range(5949, 5900)));
    expect(second).toContain('href="/">&larr; newer');
    expect(second).toContain('href="/?start=100">older');

    const last = await (await fetch(`${sink.httpUrl}/?start=5980&limit=30`)).text();
    expect(linkedIds(last)).toEqual(ids(...range(19, 0)));
    expect(last).toContain('5981–6000 of 6000');
    expect(last).not.toContain('older &rarr;');
  });

  it('the HTML page size is bounded whatever ?limit= asks for', async () => {
    const html = await (await fetch(`${sink.httpUrl}/?limit=100000`)).text();
    expect(linkedIds(html)).toHaveLength(500);
  });

  it('GET /api/messages pages with ?start=&limit=, newest first, and counts the total', async () => {
    const page = await json(`${sink.httpUrl}/api/messages?start=20&limit=10`);
    expect(page).toMatchObject({ total: 6000, start: 20, count: 10 });
    expect(page.messages.map((m) => m.id)).toEqual(ids(...range(5979, 5970)));
    expect(page.messages[0].raw).toBeUndefined();
    expect(await json(`${sink.httpUrl}/api/messages?limit=0`)).toEqual({
      total: 6000,
      start: 0,
      count: 0,
      messages: [],
    });
    // Without ?limit= the whole list, as the README's jq walkthrough reads it.
    const all = await json(`${sink.httpUrl}/api/messages`);
    expect(all.count).toBe(6000);
    expect(all.messages[0]).toMatchObject({
      id: seeded(5999).id,
      subject: 'Message 5999',
      envelope: { to: ['user0@example.test'] },
    });
  });

  it('searches by recipient or subject, in the API and on the page', async () => {
    const newest = range(5999, 0);
    const user3 = newest.filter((i) => i % 7 === 3);
    const toUser3 = await json(`${sink.httpUrl}/api/messages?query=to:user3@example.test&limit=3`);
    expect(toUser3).toMatchObject({ total: user3.length, count: 3 });
    expect(toUser3.messages.map((m) => m.id)).toEqual(ids(...user3.slice(0, 3)));

    const bySubject = await json(
      `${sink.httpUrl}/api/messages?query=${encodeURIComponent('subject:"message 12"')}`,
    );
    expect(bySubject.messages.map((m) => m.id)).toEqual(
      ids(...newest.filter((i) => String(i).startsWith('12'))),
    );

    // A bare word matches recipients or subjects; every word must match.
    const both = await json(
      `${sink.httpUrl}/api/messages?query=user5%20${encodeURIComponent('"Message 59"')}`,
    );
    expect(both.messages.map((m) => m.id)).toEqual(
      ids(...newest.filter((i) => i % 7 === 5 && String(i).startsWith('59'))),
    );
    // ?to= keeps filtering on the exact envelope recipient, as before.
    const to = await json(`${sink.httpUrl}/api/messages?to=USER3@example.test&limit=0`);
    expect(to.total).toBe(user3.length);

    const html = await (await fetch(`${sink.httpUrl}/?query=to%3Auser3%40example.test`)).text();
    expect(linkedIds(html)).toEqual(ids(...user3.slice(0, 50)));
    expect(html).toContain(`1–50 of ${user3.length} matching <b>to:user3@example.test</b>`);
    expect(html).toContain('value="to:user3@example.test"');
    expect(html).toContain('href="/?query=to%3Auser3%40example.test&amp;start=50">older');
    const none = await (await fetch(`${sink.httpUrl}/?query=nobody`)).text();
    expect(none).toContain('No message matches.');
  });

  it('names the parameter it cannot read', async () => {
    const res = await fetch(`${sink.httpUrl}/api/messages?limit=ten`);
    expect(res.status).toBe(400);
    expect(await res.text()).toBe('limit must be a non-negative integer\n');
    expect((await fetch(`${sink.httpUrl}/?start=-1`)).status).toBe(400);
  });
});

describe('mailbox over HTTP', () => {
  let sink: SmtpSink;
  let dir: string;
  afterEach(async () => {
    await sink.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('escapes subjects, addresses and the search it echoes', async () => {
    const evil = '"><img src=x onerror=alert(1)>';
    ({ sink, dir } = await sinkWith([
      seeded(1, {
        subject: '<script>alert(1)</script>',
        envelope: { from: 'a@x.test', to: [`${evil}@x.test`] },
        from: `Eve ${evil}`,
      }),
    ]));
    const res = await fetch(
      `${sink.httpUrl}/?query=${encodeURIComponent(`<script>x</script>${evil}`)}`,
    );
    const html = await res.text();
    expect(html).not.toMatch(/<script|<img/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const list = await (await fetch(`${sink.httpUrl}/`)).text();
    expect(list).not.toMatch(/<script|<img/);
    expect(list).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(list).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;@x.test');
    const view = await (await fetch(`${sink.httpUrl}/messages/${seeded(1).id}`)).text();
    expect(view).not.toMatch(/<script|<img/);
  });

  it('empties the mailbox from the page button (same-origin POST) and with DELETE /api/messages', async () => {
    ({ sink, dir } = await sinkWith(range(0, 9).map((i) => seeded(i))));
    const page = await (await fetch(`${sink.httpUrl}/`)).text();
    expect(page).toContain('<form method="post" action="/delete-all">');
    expect(page).toContain('Delete all 10 messages');

    const crossSite = await fetch(`${sink.httpUrl}/delete-all`, {
      method: 'POST',
      headers: { origin: 'http://evil.test' },
      redirect: 'manual',
    });
    expect(crossSite.status).toBe(403);
    expect(sink.messages()).toHaveLength(10);

    const emptied = await fetch(`${sink.httpUrl}/delete-all`, {
      method: 'POST',
      headers: { origin: sink.httpUrl! },
      redirect: 'manual',
    });
    expect(emptied.status).toBe(303);
    expect(emptied.headers.get('location')).toBe('/');
    expect(sink.messages()).toHaveLength(0);
    expect(await readFile(join(dir, 'messages.jsonl'), 'utf8')).toBe('');
    const after = await (await fetch(`${sink.httpUrl}/`)).text();
    expect(after).toContain('No mail yet.');
    expect(after).not.toContain('/delete-all');

    await sink.stop();
    sink = await startSmtpSink({ port: 0, httpPort: 0, dataDir: dir });
    expect(sink.messages()).toHaveLength(0);

    await sink.stop();
    await writeFile(join(dir, 'messages.jsonl'), JSON.stringify(seeded(1)) + '\n');
    sink = await startSmtpSink({ port: 0, httpPort: 0, dataDir: dir });
    expect(sink.messages()).toHaveLength(1);
    expect((await fetch(`${sink.httpUrl}/api/messages`, { method: 'DELETE' })).status).toBe(204);
    expect((await json(`${sink.httpUrl}/api/messages`)).total).toBe(0);
    expect(await readFile(join(dir, 'messages.jsonl'), 'utf8')).toBe('');
  });
});
