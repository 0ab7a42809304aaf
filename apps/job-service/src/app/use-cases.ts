import type { AppendJobLogs } from './append-job-logs.command';
import type { CancelJob } from './cancel-job.command';
import type { ClaimJobs } from './claim-jobs.command';
import type { CompleteAndClaimJobs } from './complete-and-claim-jobs.command';
import type { CompleteJob } from './complete-job.command';
import type { CreateFlow } from './create-flow.command';
import type { CreateJob } from './create-job.command';
import type { CreateJobs } from './create-jobs.command';
import type { FailJob } from './fail-job.command';
import type { GetJob } from './get-job.query';
import type { GetQueueStats } from './get-queue-stats.query';
import type { HeartbeatJob } from './heartbeat-job.command';
import type { ListJobTypes } from './list-job-types.query';
import type { ListJobLogs } from './list-job-logs.query';
import type { ListJobs } from './list-jobs.query';
import type { RegisterJobType } from './register-job-type.command';
import type { RetryJob } from './retry-job.command';
import type { UpdateJobType } from './update-job-type.command';

/** What the gRPC handler gets: the use cases of every RPC, nothing else. */
export interface JobUseCases {
  createJob: CreateJob;
  createJobs: CreateJobs;
  createFlow: CreateFlow;
  getJob: GetJob;
  listJobs: ListJobs;
  getQueueStats: GetQueueStats;
  listJobTypes: ListJobTypes;
  cancelJob: CancelJob;
  retryJob: RetryJob;
  claimJobs: ClaimJobs;
  heartbeatJob: HeartbeatJob;
  completeJob: CompleteJob;
  completeAndClaimJobs: CompleteAndClaimJobs;
  failJob: FailJob;
  appendJobLogs: AppendJobLogs;
  listJobLogs: ListJobLogs;
  registerJobType: RegisterJobType;
  updateJobType: UpdateJobType;
}
