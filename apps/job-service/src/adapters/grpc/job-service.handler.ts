import { jobV1 } from '@trellis/contracts';
import { callerOf, logAsIdle, rpcStatusOf, type CallContext } from '@trellis/platform/grpc';
import type { Logger } from '@trellis/platform/logging';
import { ValidationError } from '@trellis/platform/errors';
import type { BackoffPolicy } from '../../domain/backoff';
import type { ChildFailurePolicy, Job, JobState } from '../../domain/job';
import type { JobTypeDefinition } from '../../domain/job-type';
import type { RetentionRule } from '../../domain/retention';
import type { CreateJobInput } from '../../app/create-job.command';
import type { CreateFlowInput, FlowNode } from '../../app/create-flow.command';
import type { ClaimedJob } from '../../app/support/claimed-jobs';
import type { JobTypeInput } from '../../app/support/job-type-input';
import type { JobUseCases } from '../../app/use-cases';
import type { JobLogLine } from '../../domain/job-log';
import { fromDuration, toDuration } from '../proto-time';
import { definitionInput, toProtoSchedule } from './schedule.mapper';

const STATE_TO_PROTO: Record<JobState, jobV1.JobState> = {
  PENDING: jobV1.JobState.JOB_STATE_PENDING,
  RUNNING: jobV1.JobState.JOB_STATE_RUNNING,
  SUCCEEDED: jobV1.JobState.JOB_STATE_SUCCEEDED,
  DEAD: jobV1.JobState.JOB_STATE_DEAD,
  CANCELLED: jobV1.JobState.JOB_STATE_CANCELLED,
  WAITING_CHILDREN: jobV1.JobState.JOB_STATE_WAITING_CHILDREN,
};

const POLICY_TO_PROTO: Record<ChildFailurePolicy, jobV1.ChildFailurePolicy> = {
  FAIL_PARENT: jobV1.ChildFailurePolicy.CHILD_FAILURE_POLICY_FAIL_PARENT,
  IGNORE: jobV1.ChildFailurePolicy.CHILD_FAILURE_POLICY_IGNORE,
};

/** Unset (UNSPECIFIED) → undefined: the parent's policy. */
function policyFromProto(
  policy: jobV1.ChildFailurePolicy,
  field: string,
): ChildFailurePolicy | undefined {
  if (policy === jobV1.ChildFailurePolicy.CHILD_FAILURE_POLICY_UNSPECIFIED) return undefined;
  const found = (Object.keys(POLICY_TO_PROTO) as ChildFailurePolicy[]).find(
    (key) => POLICY_TO_PROTO[key] === policy,
  );
  if (!found) throw ValidationError.field(field, 'is not a child failure policy');
  return found;
}

function stateFromProto(state: jobV1.JobState): JobState | undefined {
  if (state === jobV1.JobState.JOB_STATE_UNSPECIFIED) return undefined;
  const found = (Object.keys(STATE_TO_PROTO) as JobState[]).find(
    (key) => STATE_TO_PROTO[key] === state,
  );
  if (!found) throw ValidationError.field('state', 'is not a job state');
  return found;
}

function protoBackoff(policy: BackoffPolicy): jobV1.BackoffPolicy {
  return {
    initialDelay: toDuration(policy.initialDelayMs),
    maxDelay: toDuration(policy.maxDelayMs),
    multiplier: policy.multiplier,
    jitter: policy.jitter,
  };
}

export function toProtoJob(job: Job): jobV1.Job {
  return jobV1.Job.fromPartial({
    id: job.id,
    type: job.type,
    payload: job.payload,
    state: STATE_TO_PROTO[job.state],
    priority: job.priority,
    runAt: job.runAt,
    attempts: job.attempts,
    maxAttempts: job.maxAttempts,
    backoff: protoBackoff(job.backoff),
    leaseDuration: toDuration(job.leaseDurationMs),
    idempotencyKey: job.idempotencyKey,
    cancelRequested: job.cancelRequested,
    workerId: job.workerId,
    leaseExpiresAt: job.leaseExpiresAt ?? undefined,
    progress: job.progress ?? undefined,
    result: job.result ?? undefined,
    lastError: job.lastError ?? undefined,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    startedAt: job.startedAt ?? undefined,
    finishedAt: job.finishedAt ?? undefined,
    parentId: job.parentId ?? '',
    childCount: job.childCount,
    pendingChildren: job.pendingChildren,
    onChildFailure:
      job.childCount > 0
        ? POLICY_TO_PROTO[job.onChildFailure]
        : jobV1.ChildFailurePolicy.CHILD_FAILURE_POLICY_UNSPECIFIED,
  });
}

function toClaimedJob({ job, leaseToken, children }: ClaimedJob): jobV1.ClaimedJob {
  return {
    job: toProtoJob(job),
    leaseToken,
    leaseExpiresAt: job.leaseExpiresAt ?? undefined,
    children: children.map(toProtoJob),
  };
}

function toFlowNode(node: FlowNode): jobV1.FlowNode {
  return { job: toProtoJob(node.job), children: node.children.map(toFlowNode) };
}

/** A type's own retention rule of one state (unset parts: the service default). */
function toProtoRetention(
  rule: Partial<RetentionRule> | undefined,
): jobV1.RetentionRule | undefined {
  if (!rule) return undefined;
  return {
    maxAge: rule.maxAgeMs === undefined ? undefined : toDuration(rule.maxAgeMs),
    maxCount: BigInt(rule.maxCount ?? 0),
  };
}

function fromProtoRetention(rule: jobV1.RetentionRule | undefined) {
  if (!rule) return undefined;
  return {
    maxAgeMs: rule.maxAge ? fromDuration(rule.maxAge) : undefined,
    maxCount: Number(rule.maxCount),
  };
}

function toProtoJobType(def: JobTypeDefinition): jobV1.JobType {
  return jobV1.JobType.fromPartial({
    name: def.name,
    description: def.description,
    payloadSchema: def.payloadSchema,
    maxPayloadBytes: def.maxPayloadBytes,
    defaultMaxAttempts: def.defaultMaxAttempts,
    defaultLeaseDuration: toDuration(def.defaultLeaseMs),
    defaultBackoff: protoBackoff(def.defaultBackoff),
    workers: def.workers ?? [],
    maxLogLines: def.maxLogLines ?? 0,
    maxLogBytes: def.maxLogBytes ?? 0,
    succeededRetention: toProtoRetention(def.retention?.SUCCEEDED),
    deadRetention: toProtoRetention(def.retention?.DEAD),
    cancelledRetention: toProtoRetention(def.retention?.CANCELLED),
    revision: BigInt(def.revision ?? 0),
    source: def.source ?? '',
    updatedAt: def.updatedAt,
  });
}

/** A JobType of RegisterJobType / UpdateJobType as the use cases' input. */
function jobTypeInput(type: jobV1.JobType | undefined): JobTypeInput {
  const backoff = type?.defaultBackoff;
  return {
    name: type?.name ?? '',
    description: type?.description ?? '',
    payloadSchema: type?.payloadSchema,
    maxPayloadBytes: type?.maxPayloadBytes ?? 0,
    defaultMaxAttempts: type?.defaultMaxAttempts ?? 0,
    defaultLeaseMs: type?.defaultLeaseDuration
      ? fromDuration(type.defaultLeaseDuration)
      : undefined,
    defaultBackoff: backoff
      ? {
          initialDelayMs: backoff.initialDelay ? fromDuration(backoff.initialDelay) : undefined,
          maxDelayMs: backoff.maxDelay ? fromDuration(backoff.maxDelay) : undefined,
          multiplier: backoff.multiplier,
          jitter: backoff.jitter,
        }
      : undefined,
    workers: type?.workers ?? [],
    maxLogLines: type?.maxLogLines ?? 0,
    maxLogBytes: type?.maxLogBytes ?? 0,
    retention: {
      SUCCEEDED: fromProtoRetention(type?.succeededRetention),
      DEAD: fromProtoRetention(type?.deadRetention),
      CANCELLED: fromProtoRetention(type?.cancelledRetention),
    },
  };
}

function toProtoLogLine(line: JobLogLine): jobV1.JobLogLine {
  return {
    seq: BigInt(line.seq),
    message: line.message,
    loggedAt: line.loggedAt,
    attempt: line.attempt,
  };
}

/** A CreateFlowRequest (a job and its children) as the use case's input. */
function createFlowInput(request: jobV1.CreateFlowRequest, path = ''): CreateFlowInput {
  const field = (name: string) => (path === '' ? name : `${path}.${name}`);
  return {
    ...createJobInput(request),
    onChildFailure: policyFromProto(request.onChildFailure, field('on_child_failure')),
    children: request.children.map((child, i) => createFlowInput(child, field(`children[${i}]`))),
  };
}

/** A CreateJobRequest (or a node of a CreateFlowRequest) as the use case's input. */
function createJobInput(request: jobV1.CreateJobRequest): CreateJobInput {
  return {
    type: request.type,
    payload: request.payload,
    priority: request.priority,
    runAt: request.runAt,
    delayMs: request.delay ? fromDuration(request.delay) : undefined,
    maxAttempts: request.maxAttempts,
    backoff: request.backoff
      ? {
          initialDelayMs: request.backoff.initialDelay
            ? fromDuration(request.backoff.initialDelay)
            : undefined,
          maxDelayMs: request.backoff.maxDelay ? fromDuration(request.backoff.maxDelay) : undefined,
          multiplier: request.backoff.multiplier,
          jitter: request.backoff.jitter,
        }
      : undefined,
    leaseDurationMs: request.leaseDuration ? fromDuration(request.leaseDuration) : undefined,
    idempotencyKey: request.idempotencyKey,
  };
}

const CREATE_JOBS_PATH = `/${jobV1.JobServiceDefinition.fullName}/CreateJobs`;
const COMPLETE_JOBS_PATH = `/${jobV1.JobServiceDefinition.fullName}/CompleteJobs`;

/** trellis.job.v1.JobService: proto ⇄ use case translation only. */
export function jobServiceHandler(
  uc: JobUseCases,
  /** Logs an entry of a batch call that failed unexpectedly, as a failed call would be. */
  logger: Logger,
): jobV1.JobServiceImplementation {
  return {
    async createJob(request) {
      const { job, created } = await uc.createJob.execute(createJobInput(request));
      return { job: toProtoJob(job), created };
    },

    async createJobs(request) {
      const outcomes = await uc.createJobs.execute(request.jobs.map(createJobInput));
      return {
        results: outcomes.map((outcome, entry) =>
          'value' in outcome
            ? {
                job: toProtoJob(outcome.value.job),
                created: outcome.value.created,
                status: rpcStatusOf(undefined, logger, CREATE_JOBS_PATH),
              }
            : {
                created: false,
                status: rpcStatusOf(outcome.error, logger, CREATE_JOBS_PATH, { entry }),
              },
        ),
      };
    },

    async createFlow(request) {
      const { flow, created } = await uc.createFlow.execute(createFlowInput(request));
      return { flow: toFlowNode(flow), created };
    },

    async getJob(request) {
      return { job: toProtoJob(await uc.getJob.execute({ jobId: request.jobId })) };
    },

    async listJobs(request) {
      const { jobs, nextPageToken } = await uc.listJobs.execute({
        pageSize: request.pageSize,
        pageToken: request.pageToken,
        filter: {
          type: request.type || undefined,
          state: stateFromProto(request.state),
          createdAfter: request.createdAfter,
          createdBefore: request.createdBefore,
          parentId: request.parentId || undefined,
        },
      });
      return { jobs: jobs.map(toProtoJob), nextPageToken };
    },

    async getQueueStats(request) {
      const { stats, asOf } = await uc.getQueueStats.execute({ types: request.types });
      return {
        asOf,
        stats: stats.map((s) => ({
          type: s.type,
          pending: BigInt(s.pending),
          due: BigInt(s.due),
          running: BigInt(s.running),
          succeeded: BigInt(s.succeeded),
          dead: BigInt(s.dead),
          cancelled: BigInt(s.cancelled),
          waitingChildren: BigInt(s.waitingChildren),
          oldestPendingAge:
            s.oldestPendingAgeMs === null ? undefined : toDuration(s.oldestPendingAgeMs),
        })),
      };
    },

    async listJobTypes() {
      return { jobTypes: uc.listJobTypes.execute().map(toProtoJobType) };
    },

    async cancelJob(request) {
      const job = await uc.cancelJob.execute({ jobId: request.jobId, reason: request.reason });
      return { job: toProtoJob(job) };
    },

    async retryJob(request) {
      return { job: toProtoJob(await uc.retryJob.execute({ jobId: request.jobId })) };
    },

    async claimJobs(request, context: CallContext) {
      const claimed = await uc.claimJobs.execute({
        workerId: request.workerId,
        types: request.types,
        maxJobs: request.maxJobs,
        waitMs: request.wait ? fromDuration(request.wait) : 0,
        signal: context.signal,
        caller: callerOf(context),
      });
      if (claimed.length === 0) logAsIdle(context);
      return { jobs: claimed.map(toClaimedJob) };
    },

    async heartbeatJob(request) {
      const { leaseExpiresAt, cancelRequested } = await uc.heartbeatJob.execute({
        jobId: request.jobId,
        leaseToken: request.leaseToken,
        progress: request.progress
          ? {
              percent: request.progress.percent,
              message: request.progress.message,
              counters: request.progress.counters,
            }
          : undefined,
        leaseExtensionMs: request.leaseExtension ? fromDuration(request.leaseExtension) : undefined,
      });
      return { leaseExpiresAt, cancelRequested };
    },

    async completeJob(request) {
      const job = await uc.completeJob.execute({
        jobId: request.jobId,
        leaseToken: request.leaseToken,
        result: request.result,
      });
      return { job: toProtoJob(job) };
    },

    async completeJobs(request, context: CallContext) {
      const { outcomes, claimed } = await uc.completeAndClaimJobs.execute({
        completions: request.completions,
        claimNext: request.claimNext && {
          workerId: request.claimNext.workerId,
          types: request.claimNext.types,
          maxJobs: request.claimNext.maxJobs,
          caller: callerOf(context),
        },
      });
      return {
        claimed: claimed.map(toClaimedJob),
        results: outcomes.map((outcome, entry) => {
          const jobId = request.completions[entry].jobId;
          return {
            jobId,
            status: rpcStatusOf(
              'error' in outcome ? outcome.error : undefined,
              logger,
              COMPLETE_JOBS_PATH,
              {
                entry,
                job_id: jobId,
              },
            ),
          };
        }),
      };
    },

    async failJob(request) {
      const { job, willRetry, nextRunAt } = await uc.failJob.execute({
        jobId: request.jobId,
        leaseToken: request.leaseToken,
        errorMessage: request.errorMessage,
        errorCode: request.errorCode,
        retryable: request.retryable,
      });
      return { job: toProtoJob(job), willRetry, nextRunAt: nextRunAt ?? undefined };
    },

    async appendJobLogs(request) {
      const { lineCount, dropped } = await uc.appendJobLogs.execute({
        jobId: request.jobId,
        leaseToken: request.leaseToken,
        lines: request.lines.map((line) => ({ message: line.message, loggedAt: line.loggedAt })),
      });
      return { lineCount: BigInt(lineCount), droppedLines: BigInt(dropped) };
    },

    async listJobLogs(request) {
      const { lines, nextPageToken, dropped } = await uc.listJobLogs.execute({
        jobId: request.jobId,
        pageSize: request.pageSize,
        pageToken: request.pageToken,
      });
      return { lines: lines.map(toProtoLogLine), nextPageToken, droppedLines: BigInt(dropped) };
    },

    async registerJobType(request) {
      const stored = await uc.registerJobType.execute(jobTypeInput(request.jobType));
      return { jobType: toProtoJobType(stored) };
    },

    async updateJobType(request) {
      const stored = await uc.updateJobType.execute({
        ...jobTypeInput(request.jobType),
        expectedRevision: Number(request.expectedRevision),
      });
      return { jobType: toProtoJobType(stored) };
    },

    async createSchedule(request) {
      const schedule = await uc.createSchedule.execute({
        scheduleId: request.scheduleId,
        definition: definitionInput(request.definition),
        paused: request.paused,
      });
      return { schedule: toProtoSchedule(schedule) };
    },

    async getSchedule(request) {
      const view = await uc.getSchedule.execute({
        scheduleId: request.scheduleId,
        nextRunCount: request.nextRunCount,
      });
      return { schedule: toProtoSchedule(view.schedule, view) };
    },

    async listSchedules(request) {
      const { schedules, nextPageToken } = await uc.listSchedules.execute({
        pageSize: request.pageSize,
        pageToken: request.pageToken,
      });
      return { schedules: schedules.map((s) => toProtoSchedule(s)), nextPageToken };
    },

    async updateSchedule(request) {
      const schedule = await uc.updateSchedule.execute({
        scheduleId: request.scheduleId,
        definition: definitionInput(request.definition),
      });
      return { schedule: toProtoSchedule(schedule) };
    },

    async pauseSchedule(request) {
      const schedule = await uc.pauseSchedule.execute({ scheduleId: request.scheduleId });
      return { schedule: toProtoSchedule(schedule) };
    },

    async resumeSchedule(request) {
      const schedule = await uc.resumeSchedule.execute({ scheduleId: request.scheduleId });
      return { schedule: toProtoSchedule(schedule) };
    },

    async deleteSchedule(request) {
      await uc.deleteSchedule.execute({ scheduleId: request.scheduleId });
      return {};
    },

    async triggerSchedule(request) {
      const job = await uc.triggerSchedule.execute({ scheduleId: request.scheduleId });
      return { job: toProtoJob(job) };
    },
  };
}
