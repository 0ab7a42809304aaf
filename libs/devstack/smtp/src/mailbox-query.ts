import { bareAddress } from './mime';
import type { SinkMessage } from './smtp-sink';

/**
 * A mailbox search, in the spirit of Mailpit's: words separated by spaces, `"quoted phrases"`,
 * each optionally prefixed `to:`, `from:` or `subject:`; every word must match (case-insensitive
 * substring). A bare word matches a recipient (envelope, To or Cc), the subject or the sender.
 */
export function matchesQuery(query: string): (message: SinkMessage) => boolean {
  const terms = [...query.matchAll(/(?:(to|from|subject):)?(?:"([^"]*)"?|(\S+))/gi)]
    .map((m) => ({ field: m[1]?.toLowerCase(), text: (m[2] ?? m[3] ?? '').toLowerCase() }))
    .filter((term) => term.text !== '');
  return (message) =>
    terms.every(({ field, text }) => {
      const has = (values: string[]) => values.some((v) => v.toLowerCase().includes(text));
      const recipients = () => has([...message.envelope.to, ...message.to, ...message.cc]);
      if (field === 'to') return recipients();
      if (field === 'from') return has([message.envelope.from, message.from]);
      if (field === 'subject') return has([message.subject]);
      return recipients() || has([message.subject, message.envelope.from, message.from]);
    });
}

/** Messages to `address` (envelope recipient, exact), as `?to=` has always filtered. */
export function sentTo(address: string): (message: SinkMessage) => boolean {
  const wanted = bareAddress(address);
  return (message) => message.envelope.to.includes(wanted);
}

export interface MailboxPage {
  /** Messages matching the filter (the whole mailbox without one). */
  total: number;
  start: number;
  messages: SinkMessage[];
}

/** The page of `limit` messages from offset `start`, newest first, of those `filter` keeps. */
export function newestFirstPage(
  stored: readonly SinkMessage[],
  filter: (message: SinkMessage) => boolean,
  start: number,
  limit: number,
): MailboxPage {
  const messages: SinkMessage[] = [];
  let total = 0;
  for (let i = stored.length - 1; i >= 0; i--) {
    if (!filter(stored[i])) continue;
    if (total >= start && messages.length < limit) messages.push(stored[i]);
    total++;
  }
  return { total, start, messages };
}
