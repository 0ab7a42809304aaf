export { serviceConfigShape, type ServiceConfig } from './service-config';
export {
  startService,
  stopOnSignals,
  type RunningService,
  type ServiceContext,
  type ServiceParts,
  type StartServiceOptions,
} from './start-service';
