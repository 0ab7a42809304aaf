// A separate entry point: it loads the MongoDB driver, kafkajs and the contracts, which most tests
// that only want waitFor do not need.
export { startServiceProcess, type ServiceProcess } from './service-process';
export {
  AccountCrashDrill,
  type AccountCrashDrillOptions,
  type CrashVerdict,
} from './account-crash-drill';
