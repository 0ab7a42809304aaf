export {
  loadConfig,
  ConfigError,
  formatConfigError,
  envFlag,
  envInt,
  envList,
} from './load-config';
