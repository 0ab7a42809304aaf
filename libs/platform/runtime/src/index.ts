export { serviceConfigShape, stopOnSignals, type ServiceConfig } from '@trellis/platform/bootstrap';
export {
  startService,
  type RunningService,
  type ServiceContext,
  type ServiceParts,
  type StartServiceOptions,
} from './start-service';
