import { randomBytes } from 'node:crypto';
import { resolveTxt } from 'node:dns/promises';
import nodemailer from 'nodemailer';
import { dkimVerify } from 'mailauth/lib/dkim/verify';

/** One DKIM-Signature of a received mail and whether it verified (mailauth's result names). */
export interface DkimResult {
  domain: string;
  selector: string;
  /** pass, fail, neutral, policy, temperror, permerror. */
  result: string;
  /** mailauth's reason when it did not pass, e.g. "body hash did not verify". */
  comment: string;
}

/**
 * Verifies the DKIM signatures of `raw` (none: []). `dnsRecords` answers the public-key look-ups
 * (`<selector>._domainkey.<domain>` → `v=DKIM1; k=rsa; p=…`) so tests need no DNS; a name not
 * listed is looked up in DNS as usual.
 */
export async function verifyDkim(
  raw: Buffer,
  dnsRecords: Record<string, string> = {},
): Promise<DkimResult[]> {
  const records = new Map(Object.entries(dnsRecords).map(([k, v]) => [k.toLowerCase(), v]));
  const verified = await dkimVerify(raw, {
    resolver: async (name: string, type: string) => {
      const record = type === 'TXT' ? records.get(name.toLowerCase()) : undefined;
      return record !== undefined ? [[record]] : resolveTxt(name);
    },
  });
  return verified.results.map((r) => ({
    domain: r.signingDomain ?? '',
    selector: r.selector ?? '',
    result: r.status?.result ?? 'none',
    comment: r.status?.comment ?? '',
  }));
}

/** An asynchronous bounce the sink was told to produce for an address. */
export interface AsyncBounce {
  /** Enhanced status code of the DSN, default 5.1.1 (a hard bounce); 4.x.x for a soft one. */
  status?: string;
  /** The Diagnostic-Code text, default `smtp; 550 5.1.1 mailbox unavailable`. */
  diagnostic?: string;
}

/** One DSN the sink sent (or failed to send) to a mail's return path. */
export interface SentDsn {
  returnPath: string;
  recipient: string;
  status: string;
  at: string;
  /** Why it could not be delivered to the relay, if it could not. */
  error?: string;
}

/**
 * An RFC 3464 report for one recipient of `original`: multipart/report with a human part, the
 * message/delivery-status part and the original's headers (text/rfc822-headers).
 */
export function composeDsn(options: {
  reportingMta: string;
  returnPath: string;
  recipient: string;
  status: string;
  diagnostic: string;
  originalHeaders: string;
}): string {
  const boundary = `dsn-${randomBytes(8).toString('hex')}`;
  const action = options.status.startsWith('5.') ? 'failed' : 'delayed';
  return [
    `From: Mail Delivery System <MAILER-DAEMON@${options.reportingMta}>`,
    `To: <${options.returnPath}>`,
    'Subject: Undelivered Mail Returned to Sender',
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: <${randomBytes(12).toString('hex')}@${options.reportingMta}>`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    `Your message to <${options.recipient}> could not be delivered.`,
    '',
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    '',
    `Reporting-MTA: dns; ${options.reportingMta}`,
    '',
    `Final-Recipient: rfc822; ${options.recipient}`,
    `Action: ${action}`,
    `Status: ${options.status}`,
    `Diagnostic-Code: ${options.diagnostic}`,
    '',
    `--${boundary}`,
    'Content-Type: text/rfc822-headers',
    '',
    options.originalHeaders.trimEnd(),
    '',
    `--${boundary}--`,
    '',
  ].join('\r\n');
}

/** Delivers a DSN with the null sender (`MAIL FROM:<>`, RFC 5321 §4.5.5: a bounce is never bounced). */
export async function sendDsn(relayUrl: string, returnPath: string, raw: string): Promise<void> {
  const transport = nodemailer.createTransport({ url: relayUrl, ignoreTLS: true });
  try {
    await transport.sendMail({ envelope: { from: '', to: [returnPath] }, raw });
  } finally {
    transport.close();
  }
}
