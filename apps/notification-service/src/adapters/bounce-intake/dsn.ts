import { simpleParser } from 'mailparser';
import type { RecipientReport } from '../../domain/delivery-report';

const ACTIONS = new Set<RecipientReport['action']>([
  'failed',
  'delayed',
  'delivered',
  'relayed',
  'expanded',
]);

/**
 * The recipient entries of an RFC 3464 delivery status notification (a multipart/report with a
 * message/delivery-status part, or its RFC 6533 message/global-delivery-status form); [] for any
 * other mail (an auto-reply to the return path, spam). MIME decoding is mailparser's; the
 * delivery-status fields (RFC 822-style header blocks) are read here.
 */
export async function parseDsn(raw: Buffer | string): Promise<RecipientReport[]> {
  // keepDeliveryStatus: otherwise mailparser folds the report into the text body.
  const mail = await simpleParser(raw, {
    keepDeliveryStatus: true,
    skipHtmlToText: true,
    skipTextLinks: true,
  });
  const part = mail.attachments.find(
    (a) =>
      a.contentType === 'message/delivery-status' ||
      a.contentType === 'message/global-delivery-status',
  );
  if (!part) return [];
  const [, ...perRecipient] = fieldBlocks(part.content.toString('utf8'));
  const reports: RecipientReport[] = [];
  for (const fields of perRecipient) {
    const recipient = addressOf(fields.get('final-recipient') ?? fields.get('original-recipient'));
    const action = (fields.get('action') ?? '').toLowerCase() as RecipientReport['action'];
    const status = /^([245])\.\d{1,3}\.\d{1,3}/.exec(fields.get('status') ?? '')?.[0];
    if (!recipient || !ACTIONS.has(action) || !status) continue;
    reports.push({ recipient, action, status, diagnostic: fields.get('diagnostic-code') ?? '' });
  }
  return reports;
}

/** Blank-line separated groups of `Name: value` fields, folded lines unfolded, names lower-cased. */
function fieldBlocks(text: string): Array<Map<string, string>> {
  const blocks: Array<Map<string, string>> = [];
  for (const block of text.replace(/\r\n/g, '\n').split(/\n[ \t]*\n/)) {
    const unfolded = block.replace(/\n[ \t]+/g, ' ').trim();
    if (!unfolded) continue;
    const fields = new Map<string, string>();
    for (const line of unfolded.split('\n')) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      if (!fields.has(name)) fields.set(name, line.slice(colon + 1).trim());
    }
    blocks.push(fields);
  }
  return blocks;
}

/** `rfc822; Ann@Example.com` → `ann@example.com` (the address type is RFC 3464 §2.3.2's). */
function addressOf(field: string | undefined): string | undefined {
  if (!field) return undefined;
  const semicolon = field.indexOf(';');
  const address = (semicolon >= 0 ? field.slice(semicolon + 1) : field)
    .trim()
    .replace(/^<|>$/g, '');
  return address.includes('@') ? address.toLowerCase() : undefined;
}
