import { parseDsn } from './dsn';

const dsn = (deliveryStatus: string, contentType = 'message/delivery-status') =>
  [
    'From: MAILER-DAEMON@mx.example.com',
    'To: bounce+x@bounce.trellis.test',
    'Subject: Undelivered Mail Returned to Sender',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
    '',
    '--B',
    'Content-Type: text/plain',
    '',
    'Your message could not be delivered.',
    '',
    '--B',
    `Content-Type: ${contentType}`,
    '',
    deliveryStatus,
    '',
    '--B',
    'Content-Type: text/rfc822-headers',
    '',
    'Message-ID: <abc@trellis>',
    '',
    '--B--',
    '',
  ].join('\r\n');

describe('parseDsn', () => {
  it('reads recipient, action, status and the folded diagnostic code of each recipient', async () => {
    const reports = await parseDsn(
      dsn(
        [
          'Reporting-MTA: dns; mx.example.com',
          'Arrival-Date: Sun, 6 Dec 2026 04:00:00 +0000',
          '',
          'Final-Recipient: rfc822; Ann@Example.com',
          'Action: failed',
          'Status: 5.1.1 (user unknown)',
          'Diagnostic-Code: smtp; 550 5.1.1 <ann@example.com>:',
          ' Recipient address rejected: User unknown',
          '',
          'Original-Recipient: rfc822;<bob@example.com>',
          'Action: delayed',
          'Status: 4.4.7',
        ].join('\r\n'),
      ),
    );
    expect(reports).toEqual([
      {
        recipient: 'ann@example.com',
        action: 'failed',
        status: '5.1.1',
        diagnostic: 'smtp; 550 5.1.1 <ann@example.com>: Recipient address rejected: User unknown',
      },
      { recipient: 'bob@example.com', action: 'delayed', status: '4.4.7', diagnostic: '' },
    ]);
  });

  it('reads the RFC 6533 global form too', async () => {
    const reports = await parseDsn(
      dsn(
        'Reporting-MTA: dns; mx\r\n\r\nFinal-Recipient: rfc822; ann@example.com\r\nAction: failed\r\nStatus: 5.2.2',
        'message/global-delivery-status',
      ),
    );
    expect(reports).toMatchObject([{ recipient: 'ann@example.com', status: '5.2.2' }]);
  });

  it('skips entries without a usable recipient, action or status', async () => {
    const reports = await parseDsn(
      dsn(
        'Reporting-MTA: dns; mx\r\n\r\nFinal-Recipient: rfc822; nobody\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n' +
          'Final-Recipient: rfc822; a@b.test\r\nAction: exploded\r\nStatus: 5.1.1\r\n\r\n' +
          'Final-Recipient: rfc822; a@b.test\r\nAction: failed\r\nStatus: 550',
      ),
    );
    expect(reports).toEqual([]);
  });

  it('finds no report in ordinary mail (an auto-reply to the return path)', async () => {
    expect(
      await parseDsn('From: a@b.test\r\nSubject: Out of office\r\n\r\nI am away.\r\n'),
    ).toEqual([]);
  });
});
