export { createLogger, lineDestination, type Logger, type LoggerSettings } from './create-logger';
export { redact, redactString, isSecretKey, REDACTED } from './redact';
