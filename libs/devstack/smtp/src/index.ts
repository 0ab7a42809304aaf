export {
  startSmtpSink,
  type RecipientFailure,
  type SinkMessage,
  type SinkRejection,
  type SmtpSink,
  type SmtpSinkOptions,
} from './smtp-sink';
export {
  composeDsn,
  verifyDkim,
  type AsyncBounce,
  type DkimResult,
  type SentDsn,
} from './deliverability';
export { findHeader, parseMail, type MimeHeader, type ParsedMail } from './mime';
