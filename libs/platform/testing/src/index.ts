export { waitFor } from './wait-for';
export { bufCurl, type BufCurlResult } from './buf-curl';
export { captureLogger } from './capture-logger';
export { startServiceProcess, type ServiceProcess } from './service-process';
export {
  AccountCrashDrill,
  type AccountCrashDrillOptions,
  type CrashVerdict,
} from './account-crash-drill';
