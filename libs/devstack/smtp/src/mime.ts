/**
 * A small MIME reader, enough for what mail clients (nodemailer included) send: RFC 5322 headers
 * with folding and RFC 2047 encoded words, multipart bodies (nested), and the 7bit, 8bit,
 * quoted-printable and base64 transfer encodings. Attachments are listed, not decoded.
 */

export interface MimeHeader {
  /** As sent, e.g. "Message-ID". */
  name: string;
  /** Unfolded and with encoded words decoded. */
  value: string;
}

export interface ParsedMail {
  headers: MimeHeader[];
  subject: string;
  from: string;
  to: string[];
  cc: string[];
  messageId: string;
  text: string;
  html: string;
  attachments: Array<{ contentType: string; filename: string; size: number }>;
}

/** The headers and decoded text/HTML bodies of a raw RFC 5322 message. */
export function parseMail(raw: Buffer): ParsedMail {
  // The CRLF before the SMTP end-of-data dot belongs to the terminator, not to the body.
  const entity = parseEntity(
    raw.subarray(-2).toString('latin1') === '\r\n' ? raw.subarray(0, -2) : raw,
  );
  const header = (name: string) => findHeader(entity.headers, name);
  const mail: ParsedMail = {
    headers: entity.headers,
    subject: header('subject'),
    from: header('from'),
    to: splitAddresses(header('to')),
    cc: splitAddresses(header('cc')),
    messageId: header('message-id'),
    text: '',
    html: '',
    attachments: [],
  };
  collectBodies(entity, mail);
  return mail;
}

export function findHeader(headers: MimeHeader[], name: string): string {
  const lower = name.toLowerCase();
  return headers.find((h) => h.name.toLowerCase() === lower)?.value ?? '';
}

interface Entity {
  headers: MimeHeader[];
  body: Buffer;
}

function parseEntity(raw: Buffer): Entity {
  let split = raw.indexOf('\r\n\r\n');
  let separator = 4;
  if (split < 0) {
    split = raw.indexOf('\n\n');
    separator = 2;
  }
  const headerText = (split < 0 ? raw : raw.subarray(0, split)).toString('utf8');
  const body = split < 0 ? Buffer.alloc(0) : raw.subarray(split + separator);
  const headers: MimeHeader[] = [];
  for (const line of headerText.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && headers.length > 0) {
      headers[headers.length - 1].value += ' ' + line.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    headers.push({ name: line.slice(0, colon).trim(), value: line.slice(colon + 1).trim() });
  }
  for (const h of headers) h.value = decodeWords(h.value);
  return { headers, body };
}

/** Parses `type/subtype; key=value; key="value"` into the type and its parameters. */
export function parseContentType(value: string): { type: string; params: Record<string, string> } {
  const [type, ...rest] = value.split(';');
  const params: Record<string, string> = {};
  for (const part of rest) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    params[part.slice(0, eq).trim().toLowerCase()] = part
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1');
  }
  return { type: (type || 'text/plain').trim().toLowerCase(), params };
}

function collectBodies(entity: Entity, mail: ParsedMail): void {
  const contentType = parseContentType(findHeader(entity.headers, 'content-type') || 'text/plain');
  const disposition = findHeader(entity.headers, 'content-disposition').toLowerCase();
  if (contentType.type.startsWith('multipart/') && contentType.params.boundary) {
    for (const part of splitMultipart(entity.body, contentType.params.boundary)) {
      collectBodies(parseEntity(part), mail);
    }
    return;
  }
  const decoded = decodeTransfer(
    entity.body,
    findHeader(entity.headers, 'content-transfer-encoding'),
  );
  const isAttachment = disposition.startsWith('attachment');
  if (!isAttachment && contentType.type === 'text/plain' && !mail.text) {
    mail.text = decodeCharset(decoded, contentType.params.charset).replace(/\r\n/g, '\n');
  } else if (!isAttachment && contentType.type === 'text/html' && !mail.html) {
    mail.html = decodeCharset(decoded, contentType.params.charset).replace(/\r\n/g, '\n');
  } else {
    const filename =
      parseContentType(disposition || 'x').params.filename ?? contentType.params.name ?? '';
    mail.attachments.push({ contentType: contentType.type, filename, size: decoded.length });
  }
}

function splitMultipart(body: Buffer, boundary: string): Buffer[] {
  const text = body.toString('latin1');
  const delimiter = `--${boundary}`;
  const parts: Buffer[] = [];
  let index = text.indexOf(delimiter);
  while (index >= 0) {
    let start = index + delimiter.length;
    if (text.startsWith('--', start)) break;
    start = text.indexOf('\n', start) + 1;
    if (start <= 0) break;
    const next = text.indexOf(`\n${delimiter}`, start);
    if (next < 0) break;
    const end = next > 0 && text[next - 1] === '\r' ? next - 1 : next;
    parts.push(Buffer.from(text.slice(start, end), 'latin1'));
    index = next + 1;
  }
  return parts;
}

function decodeTransfer(body: Buffer, encoding: string): Buffer {
  switch (encoding.trim().toLowerCase()) {
    case 'base64':
      return Buffer.from(body.toString('latin1').replace(/\s+/g, ''), 'base64');
    case 'quoted-printable':
      return decodeQuotedPrintable(body.toString('latin1'));
    default:
      return body;
  }
}

function decodeQuotedPrintable(text: string): Buffer {
  const softBreaksRemoved = text.replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < softBreaksRemoved.length; i++) {
    const ch = softBreaksRemoved[i];
    const hex = softBreaksRemoved.slice(i + 1, i + 3);
    if (ch === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(softBreaksRemoved.charCodeAt(i) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

function decodeCharset(bytes: Buffer, charset = 'utf-8'): string {
  try {
    return new TextDecoder(charset.toLowerCase()).decode(bytes);
  } catch {
    return bytes.toString('utf8');
  }
}

/** Decodes RFC 2047 encoded words (`=?UTF-8?Q?...?=`, `=?UTF-8?B?...?=`) in a header value. */
export function decodeWords(value: string): string {
  return value
    .replace(/(=\?[^?]+\?[QqBb]\?[^?]*\?=)\s+(?==\?)/g, '$1')
    .replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_match, charset: string, kind: string, text) => {
      const bytes =
        kind.toUpperCase() === 'B'
          ? Buffer.from(String(text), 'base64')
          : decodeQuotedPrintable(String(text).replace(/_/g, ' '));
      return decodeCharset(bytes, charset.replace(/\*.*$/, ''));
    });
}

/** Splits an address list header on top-level commas (not inside quotes or angle brackets). */
export function splitAddresses(value: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  let angle = 0;
  for (const ch of value) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === '<') angle++;
    else if (!quoted && ch === '>') angle = Math.max(0, angle - 1);
    if (ch === ',' && !quoted && angle === 0) {
      if (current.trim()) out.push(current.trim());
      current = '';
    } else {
      current += ch;
    }
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

/** The bare address of `Name <addr>` or `addr`, lower-cased. */
export function bareAddress(value: string): string {
  const match = /<([^>]*)>/.exec(value);
  return (match ? match[1] : value).trim().toLowerCase();
}
