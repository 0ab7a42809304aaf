export { waitFor } from './wait-for';
export { freePort } from './free-port';
export { bufCurl, type BufCurlResult } from './buf-curl';
export { captureLogger } from './capture-logger';
export { RawGrpcClient, type RawCallResult } from './raw-grpc';
export {
  hostileRequests,
  unaryMethods,
  seededRandom,
  type HostileRequest,
  type DescribedMethod,
} from './hostile-requests';
export { checkBooks, type AccountReader } from './books';
