export { startTelemetry, type Telemetry, type TelemetrySettings } from './start-telemetry';
export { activeTraceId, validTraceId } from './trace-id';
export { traceHeaders, contextFromTraceHeaders, type KafkaHeaders } from './kafka-trace-headers';
export { createMetricsRegistry, startMetricsServer, type MetricsServer } from './metrics';
