export { waitFor } from './wait-for';
export { bufCurl, type BufCurlResult } from './buf-curl';
export { captureLogger } from './capture-logger';
