import { generateKeyPairSync } from 'node:crypto';
import nodemailer from 'nodemailer';
import { waitFor } from '@trellis/platform/testing';
import { startSmtpSink, type SmtpSink } from '../src';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const DKIM_RECORD = `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;

describe('SMTP sink deliverability checks', () => {
  let sink: SmtpSink;
  /** Stands in for the bounce domain's MX. */
  let mx: SmtpSink;
  beforeEach(async () => {
    sink = await startSmtpSink({
      port: 0,
      httpPort: false,
      dkimDnsRecords: { 's1._domainkey.trellis.test': DKIM_RECORD },
    });
    mx = await startSmtpSink({ port: 0, httpPort: false });
  });
  afterEach(async () => {
    await sink.stop();
    await mx.stop();
  });

  const signed = (key: string) =>
    nodemailer.createTransport({
      url: sink.url,
      dkim: { domainName: 'trellis.test', keySelector: 's1', privateKey: key },
    });

  it('verifies a DKIM signature, and reports one that does not verify', async () => {
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await signed(pem).sendMail({
      from: 'a@trellis.test',
      to: 'ann@example.test',
      subject: 'signed',
      text: 'hi',
    });
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    await signed(other.export({ type: 'pkcs8', format: 'pem' }).toString()).sendMail({
      from: 'a@trellis.test',
      to: 'bob@example.test',
      subject: 'forged',
      text: 'hi',
    });
    await nodemailer
      .createTransport(sink.url)
      .sendMail({ from: 'a@trellis.test', to: 'cy@example.test', text: 'x' });
    expect((await sink.waitForMessageTo('ann@example.test')).dkim).toEqual([
      { domain: 'trellis.test', selector: 's1', result: 'pass', comment: '' },
    ]);
    expect((await sink.waitForMessageTo('bob@example.test')).dkim).toMatchObject([
      { result: 'fail' },
    ]);
    expect((await sink.waitForMessageTo('cy@example.test')).dkim).toBeUndefined();
  });

  it('accepts mail for an address told to bounce, then sends an RFC 3464 DSN to its return path with the null sender', async () => {
    sink.bounceAsync(mx.url, {
      'gone@example.test': { status: '5.1.1' },
      'full@example.test': { status: '4.2.2' },
    });
    const info = await nodemailer.createTransport(sink.url).sendMail({
      envelope: {
        from: 'bounce+n1.abc@bounce.trellis.test',
        to: ['gone@example.test', 'ok@example.test'],
      },
      raw: 'From: a@trellis.test\r\nTo: gone@example.test\r\nMessage-ID: <n1@trellis>\r\nSubject: hi\r\n\r\nhello\r\n',
    });
    expect(info.accepted).toEqual(['gone@example.test', 'ok@example.test']);
    const [dsn] = await mx.waitForMessages((m) =>
      m.envelope.to.includes('bounce+n1.abc@bounce.trellis.test'),
    );
    expect(dsn.envelope.from).toBe('');
    expect(dsn.raw).toMatch(/Content-Type: multipart\/report; report-type=delivery-status/);
    expect(dsn.raw).toMatch(
      /Final-Recipient: rfc822; gone@example\.test\r\nAction: failed\r\nStatus: 5\.1\.1/,
    );
    expect(dsn.raw).toContain('Message-ID: <n1@trellis>');
    // The DSN reached the MX before the sink's client saw the 250: wait for its record.
    await waitFor(() => sink.sentDsns().length > 0, { what: 'the DSN record' });
    expect(sink.sentDsns()).toMatchObject([{ recipient: 'gone@example.test', status: '5.1.1' }]);
    expect(mx.messages()).toHaveLength(1);
  });

  it('never bounces a bounce (mail with the null sender)', async () => {
    sink.bounceAsync(mx.url, { 'gone@example.test': {} });
    await nodemailer.createTransport(sink.url).sendMail({
      envelope: { from: '', to: ['gone@example.test'] },
      raw: 'From: MAILER-DAEMON@x.test\r\nSubject: dsn\r\n\r\nx\r\n',
    });
    await sink.waitForMessageTo('gone@example.test');
    expect(sink.sentDsns()).toEqual([]);
  });
});
