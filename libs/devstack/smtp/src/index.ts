export {
  startSmtpSink,
  type RecipientFailure,
  type SinkMessage,
  type SinkRejection,
  type SmtpSink,
  type SmtpSinkOptions,
} from './smtp-sink';
export { findHeader, parseMail, type MimeHeader, type ParsedMail } from './mime';
