import type { OutgoingMail } from '../../app/ports/mail-sender.port';

/**
 * A lean RFC 5322/2045 composer for what the service sends (text and/or HTML, a few headers), so
 * the SMTP transport streams a ready message instead of building a MIME tree per mail. Non-ASCII
 * header values become RFC 2047 encoded words; bodies are base64 (76-character lines).
 */
export interface MimeInput extends OutgoingMail {
  from: string;
  date?: Date;
}

const ASCII = /^[\x20-\x7e]*$/;

function headerValue(value: string): string {
  const clean = value.replace(/[\r\n]+/g, ' ');
  if (ASCII.test(clean)) return clean;
  // Encoded words of at most ~45 source bytes each keep every line under 78 characters.
  const words: string[] = [];
  let chunk = '';
  for (const ch of clean) {
    if (Buffer.byteLength(chunk + ch) > 45) {
      words.push(chunk);
      chunk = '';
    }
    chunk += ch;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w).toString('base64')}?=`).join('\r\n ');
}

function base64Body(text: string): string {
  return Buffer.from(text)
    .toString('base64')
    .replace(/.{1,76}/g, '$&\r\n');
}

function part(type: string, body: string): string {
  return `Content-Type: ${type}; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n${base64Body(body)}`;
}

export function composeMessage(input: MimeInput, boundary: string): string {
  const lines = [
    `From: ${headerValue(input.from)}`,
    `To: ${input.to}`,
    ...(input.cc.length > 0 ? [`Cc: ${input.cc.join(', ')}`] : []),
    `Subject: ${headerValue(input.subject)}`,
    `Message-ID: ${input.messageId}`,
    `Date: ${(input.date ?? new Date()).toUTCString().replace('GMT', '+0000')}`,
    'MIME-Version: 1.0',
    ...Object.entries(input.headers).map(([k, v]) => `${k}: ${headerValue(v)}`),
  ];
  const head = lines.join('\r\n');
  if (input.text && input.html) {
    return (
      `${head}\r\nContent-Type: multipart/alternative; boundary="${boundary}"\r\n\r\n` +
      `--${boundary}\r\n${part('text/plain', input.text)}` +
      `--${boundary}\r\n${part('text/html', input.html)}` +
      `--${boundary}--\r\n`
    );
  }
  return `${head}\r\n${part(input.html ? 'text/html' : 'text/plain', input.html || input.text)}`;
}
