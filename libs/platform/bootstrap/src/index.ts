// Light on purpose: nothing here loads @grpc/grpc-js, mongodb or kafkajs, so a service's main.ts
// and config.ts can use it before telemetry is started.
export { serviceConfigShape, type ServiceConfig } from './service-config';
export { runServiceMain, stopOnSignals } from './run-service-main';
export { listenOn } from './listen';
