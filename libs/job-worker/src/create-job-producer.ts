import { Status } from 'nice-grpc-common';
import type { jobV1 } from '@trellis/contracts';
import { createLogger, type Logger } from '@trellis/platform/logging';
import { batchedCalls, jsonSize } from './batched-calls';
import type { WorkerCallOptions } from './worker-api';

/** The JobService client a producer calls (createGrpcClient's client fits). */
export type JobProducerClient = Pick<
  jobV1.JobServiceClient<WorkerCallOptions>,
  'createJob' | 'createJobs'
>;

/** A CreateJob request as the client takes it. */
export type CreateJobRequest = Parameters<JobProducerClient['createJob']>[0];

export interface JobProducer {
  /**
   * CreateJob, with the same response and errors; the requests made while a call is in flight go
   * out together as one CreateJobs call.
   */
  createJob(request: CreateJobRequest): Promise<jobV1.CreateJobResponse>;
}

/**
 * Enqueues jobs for a process that creates many at once (a campaign's sends, a bulk import): each
 * `createJob` behaves as the RPC, but concurrent ones share CreateJobs calls of up to 100 jobs, so
 * the producer and the job-service spend one call, not one each.
 */
export function createJobProducer(options: {
  client: JobProducerClient;
  logger?: Logger;
}): JobProducer {
  const { client } = options;
  const createJob = batchedCalls({
    path: '/trellis.job.v1.JobService/CreateJobs',
    single: (request: CreateJobRequest) => client.createJob(request),
    batch: async (jobs) =>
      (await client.createJobs({ jobs })).results.map(({ status, job, created }) => ({
        status,
        response: { job, created },
      })),
    weigh: (request) => jsonSize(request.payload),
    onUnavailable: (code) =>
      (options.logger ?? createLogger({ service: 'job-producer' })).info(
        { grpc_status: Status[code] },
        'CreateJobs is unavailable to this producer; creating one job per call',
      ),
  });
  return { createJob };
}
