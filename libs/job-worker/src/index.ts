// @trellis/job-worker: run job-service jobs in any process (see README.md).
export { createWorker } from './create-worker';
export {
  JobCancelledError,
  JobFailure,
  LeaseLostError,
  WorkerStoppingError,
  type JobContext,
  type JobHandler,
  type JobServiceClient,
  type ProgressUpdate,
  type Worker,
  type WorkerCallOptions,
  type WorkerOptions,
} from './worker-api';
export {
  createJobProducer,
  type CreateJobRequest,
  type JobProducer,
  type JobProducerClient,
} from './create-job-producer';
