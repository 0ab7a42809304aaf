import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { waitFor } from '@trellis/platform/testing';
import { startSmtpSink, type SinkMessage, type SmtpSink } from '../src';

const ROOT = join(__dirname, '../../../..');

const queuedId = (response: string) => /queued as ([0-9A-F]+)$/.exec(response)?.[1];

/**
 * The messages the data file holds right now, as a restart would load them: complete lines only,
 * since a concurrent send may be halfway through appending the next one (the loader skips it too).
 */
async function onDisk(dir: string): Promise<SinkMessage[]> {
  const text = await readFile(join(dir, 'messages.jsonl'), 'utf8');
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as SinkMessage);
}

describe('SMTP sink durability (250 only after the message is written)', () => {
  let dir: string;
  let sink: SmtpSink;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'smtp-durable-'));
    sink = await startSmtpSink({ port: 0, httpPort: false, dataDir: dir });
  });
  afterEach(async () => {
    await sink.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('every accepted message is in the data file when its 250 arrives, also when sent concurrently', async () => {
    const client = nodemailer.createTransport({ url: sink.url, pool: true, maxConnections: 10 });
    try {
      const sends = Array.from({ length: 40 }, (_, i) =>
        client
          .sendMail({
            from: 'a@trellis.dev',
            to: `r${i}@example.test`,
            subject: `s${i}`,
            text: 'x',
          })
          .then(async (info: { response: string }) => {
            // Read the store the moment the client has its 250: a crash now loses nothing.
            const id = queuedId(info.response);
            expect((await onDisk(dir)).some((m) => m.id === id)).toBe(true);
            expect(sink.messages().some((m) => m.id === id)).toBe(true);
            return id;
          }),
      );
      const ids = await Promise.all(sends);
      expect(new Set(ids).size).toBe(40);
      expect((await onDisk(dir)).map((m) => m.id).sort()).toEqual([...ids].sort());
    } finally {
      client.close();
    }
  });

  it('answers 451 when the message cannot be written, lists nothing, and accepts again once it can', async () => {
    const client = nodemailer.createTransport(sink.url);
    const send = (subject: string) =>
      client.sendMail({ from: 'a@trellis.dev', to: 'b@example.test', subject, text: 'x' });
    await send('before');
    // A directory where the data file should be: every write of it fails (EISDIR), even as root.
    const file = join(dir, 'messages.jsonl');
    await rename(file, `${file}.aside`);
    await mkdir(file);
    await expect(send('lost')).rejects.toMatchObject({
      responseCode: 451,
      response: expect.stringContaining('Could not store the message') as unknown,
    });
    expect(sink.messages().map((m) => m.subject)).toEqual(['before']);

    await rmdir(file);
    await rename(`${file}.aside`, file);
    await send('after');
    expect(sink.messages().map((m) => m.subject)).toEqual(['before', 'after']);
    await sink.stop();
    sink = await startSmtpSink({ port: 0, httpPort: false, dataDir: dir });
    expect(sink.messages().map((m) => m.subject)).toEqual(['before', 'after']);
  });

  it('a torn last line (a crash mid-write) is skipped, and the next message goes on a line of its own', async () => {
    await sink.stop();
    const file = join(dir, 'messages.jsonl');
    const kept: SinkMessage = {
      id: 'KEPT00000000',
      receivedAt: new Date().toISOString(),
      envelope: { from: 'a@trellis.dev', to: ['b@example.test'] },
      headers: [],
      messageId: '<kept@x>',
      subject: 'kept',
      from: 'a@trellis.dev',
      to: ['b@example.test'],
      cc: [],
      text: 'x',
      html: '',
      attachments: [],
      size: 1,
      raw: 'x',
    };
    await writeFile(file, JSON.stringify(kept) + '\n' + JSON.stringify(kept).slice(0, 40));
    sink = await startSmtpSink({ port: 0, httpPort: false, dataDir: dir });
    expect(sink.messages().map((m) => m.subject)).toEqual(['kept']);
    await nodemailer
      .createTransport(sink.url)
      .sendMail({ from: 'a@trellis.dev', to: 'b@example.test', subject: 'next', text: 'x' });
    const lines = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
    expect(lines).toHaveLength(3);
    expect((JSON.parse(lines[2]) as SinkMessage).subject).toBe('next');
    await sink.stop();
    sink = await startSmtpSink({ port: 0, httpPort: false, dataDir: dir });
    expect(sink.messages().map((m) => m.subject)).toEqual(['kept', 'next']);
  });

  it('clear() empties the data file in order with the messages around it', async () => {
    const client = nodemailer.createTransport(sink.url);
    const send = (subject: string) =>
      client.sendMail({ from: 'a@trellis.dev', to: 'b@example.test', subject, text: 'x' });
    await send('one');
    await Promise.all([send('two'), sink.clear()]);
    await send('three');
    const subjects = sink.messages().map((m) => m.subject);
    expect((await onDisk(dir)).map((m) => m.subject)).toEqual(subjects);
    expect(subjects.slice(-1)).toEqual(['three']);
    expect(subjects).not.toContain('one');
  });
});

describe('SMTP sink killed with SIGKILL', () => {
  it('holds, once restarted, every message it answered 250 to before it died', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'smtp-killed-'));
    // `node --import tsx` rather than the tsx CLI, so SIGKILL hits the sink itself, as `npm start` runs it.
    const child = spawn(process.execPath, ['--import', 'tsx', 'libs/devstack/smtp/src/main.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        SMTP_DEVSTACK_PORT: '0',
        SMTP_DEVSTACK_HTTP_PORT: '0',
        SMTP_DEVSTACK_DATA_DIR: dir,
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const url = await waitFor(() => /"smtp":"(smtp:[^"]+)"/.exec(out)?.[1], {
      timeoutMs: 20_000,
      what: 'the sink to start',
    });
    const client = nodemailer.createTransport({ url, pool: true, maxConnections: 10 });
    const acknowledged: string[] = [];
    const senders = Array.from({ length: 20 }, async (_, s) => {
      for (let i = 0; ; i++) {
        try {
          const info = (await client.sendMail({
            from: 'a@trellis.dev',
            to: `r${s}-${i}@example.test`,
            subject: `s${s}-${i}`,
            text: 'x'.repeat(2000),
          })) as { response: string };
          acknowledged.push(queuedId(info.response)!);
        } catch {
          return;
        }
      }
    });
    try {
      await waitFor(() => acknowledged.length >= 300, { what: '300 accepted messages' });
      child.kill('SIGKILL');
      await exited;
      await Promise.all(senders);
    } finally {
      client.close();
      child.kill('SIGKILL');
    }
    const restarted = await startSmtpSink({ port: 0, httpPort: false, dataDir: dir });
    try {
      const kept = new Set(restarted.messages().map((m) => m.id));
      expect(acknowledged.filter((id) => !kept.has(id))).toEqual([]);
    } finally {
      await restarted.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
