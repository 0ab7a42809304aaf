import { createPrivateKey } from 'node:crypto';

export interface DkimSettings {
  /** PEM (PKCS#1 or PKCS#8), RSA or Ed25519; empty = no signing. */
  privateKey: string;
  selector: string;
  domain: string;
}

/** nodemailer's `dkim` transport option (the subset this service sets). */
export interface NodemailerDkim {
  domainName: string;
  keySelector: string;
  privateKey: string;
  /** Headers signed; these are the ones a receiver shows or acts on. */
  headerFieldNames: string;
}

const SIGNED_HEADERS = [
  'From',
  'To',
  'Cc',
  'Subject',
  'Date',
  'Message-ID',
  'MIME-Version',
  'Content-Type',
  'List-Unsubscribe',
  'List-Unsubscribe-Post',
].join(':');

/**
 * The `dkim` option for nodemailer's transport, or undefined when no key is configured. The key is
 * parsed here so a bad DKIM_PRIVATE_KEY(_FILE) stops the start instead of failing every send.
 * List-Unsubscribe(-Post) are signed: RFC 8058 §4 requires them covered by a valid signature.
 */
export function dkimTransportOption(settings: DkimSettings): NodemailerDkim | undefined {
  if (!settings.privateKey.trim()) return undefined;
  try {
    createPrivateKey(settings.privateKey);
  } catch (err) {
    throw new Error(`DKIM_PRIVATE_KEY is not a PEM private key: ${(err as Error).message}`);
  }
  if (!settings.domain) throw new Error('DKIM_DOMAIN must be set when DKIM_PRIVATE_KEY is');
  if (!settings.selector) throw new Error('DKIM_SELECTOR must be set when DKIM_PRIVATE_KEY is');
  return {
    domainName: settings.domain,
    keySelector: settings.selector,
    privateKey: settings.privateKey,
    headerFieldNames: SIGNED_HEADERS,
  };
}
