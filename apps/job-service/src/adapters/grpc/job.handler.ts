import { jobV1 } from '@trellis/contracts';
import { callerOf, logAsIdle, rpcStatusOf, type CallContext } from '@trellis/platform/grpc';
import type { Logger } from '@trellis/platform/logging';
import type { JobUseCases } from '../../app/use-cases';
import { fromDuration, toDuration } from '../proto-time';
import {
  createFlowInput,
  createJobInput,
  jobTypeInput,
  stateFromProto,
  toClaimedJob,
  toFlowNode,
  toProtoJob,
  toProtoJobType,
  toProtoLogLine,
} from './job.mapper';
import { definitionInput, toProtoSchedule } from './schedule.mapper';

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
