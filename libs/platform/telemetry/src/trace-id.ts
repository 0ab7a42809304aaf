import { trace } from '@opentelemetry/api';

const TRACE_ID = /^[0-9a-f]{32}$/;
const INVALID_TRACE_ID = /^0+$/;

/** A 32-hex W3C trace id, or '' for none / the invalid all-zero id. */
export function validTraceId(traceId: string | undefined): string {
  return traceId && TRACE_ID.test(traceId) && !INVALID_TRACE_ID.test(traceId) ? traceId : '';
}

/**
 * The trace id of the active span, for records that outlive the call (a notification, a mail
 * header) so they can be found from the trace; '' when no valid span is active.
 */
export function activeTraceId(): string {
  return validTraceId(trace.getActiveSpan()?.spanContext().traceId);
}
