// @trellis/job-worker: run job-service jobs in any process (see README.md).
export {
  createWorker,
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
} from './create-worker';
export {
  createJobProducer,
  type CreateJobRequest,
  type JobProducer,
  type JobProducerClient,
} from './create-job-producer';
