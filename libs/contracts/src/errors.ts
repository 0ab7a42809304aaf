import {
  ErrorReason,
  errorReasonFromJSON,
  errorReasonToJSON,
} from './gen/trellis/common/v1/errors';

/** The `domain` of every google.rpc.ErrorInfo a Trellis service sends. */
export const ERROR_DOMAIN = 'trellis.dev';

const PREFIX = 'ERROR_REASON_';

/**
 * The ErrorInfo `reason` string for an ErrorReason: its proto name without the
 * `ERROR_REASON_` prefix, e.g. ErrorReason.ERROR_REASON_INSUFFICIENT_FUNDS ->
 * "INSUFFICIENT_FUNDS".
 */
export function errorReasonString(reason: ErrorReason): string {
  if (reason === ErrorReason.ERROR_REASON_UNSPECIFIED || reason === ErrorReason.UNRECOGNIZED) {
    throw new Error(`not a sendable error reason: ${errorReasonToJSON(reason)}`);
  }
  return errorReasonToJSON(reason).slice(PREFIX.length);
}

/** The ErrorReason for an ErrorInfo `reason` string, or undefined if it is not one. */
export function parseErrorReason(reason: string): ErrorReason | undefined {
  const value = errorReasonFromJSON(PREFIX + reason);
  return value === ErrorReason.UNRECOGNIZED || value === ErrorReason.ERROR_REASON_UNSPECIFIED
    ? undefined
    : value;
}
