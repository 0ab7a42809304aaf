import type { SendOutcome } from '../../domain/delivery-policy';

export interface OutgoingMail {
  to: string;
  cc: string[];
  subject: string;
  text: string;
  html: string;
  messageId: string;
  headers: Record<string, string>;
  /** The envelope sender (MAIL FROM), e.g. the VERP bounce address; default MAIL_FROM's address. */
  returnPath?: string;
}

/** The SMTP side; never throws for SMTP failures, it classifies them. */
export interface MailSender {
  send(mail: OutgoingMail): Promise<SendOutcome>;
  close(): Promise<void>;
}
