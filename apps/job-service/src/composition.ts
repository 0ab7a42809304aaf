import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { jobV1 } from '@trellis/contracts';
import type { Logger } from '@trellis/platform/logging';
import { Lease } from '@trellis/platform/mongo';
import { startService, type RunningService } from '@trellis/platform/runtime';

import { jobServiceHandler } from './adapters/grpc/job.handler';
import { createPromJobMetrics } from './adapters/metrics/prom-job-metrics';
import { LeaseReaper } from './adapters/mongo/lease-reaper';
import { MongoJobRepository } from './adapters/mongo/job.repository';
import { MongoJobLogRepository } from './adapters/mongo/job-log.repository';
import { MongoJobTypeRepository } from './adapters/mongo/job-type.repository';
import { JobTypeRefresher } from './adapters/mongo/job-type-refresher';
import { MongoJobRetentionRepository } from './adapters/mongo/job-retention.repository';
import { ApplyRetention } from './app/apply-retention.command';
import { AppendJobLogs } from './app/append-job-logs.command';
import { ListJobLogs } from './app/list-job-logs.query';
import { RefreshJobTypes } from './app/refresh-job-types.command';
import { RegisterJobType } from './app/register-job-type.command';
import { SeedJobTypes } from './app/seed-job-types.command';
import { UpdateJobType } from './app/update-job-type.command';
import { MongoScheduleRepository } from './adapters/mongo/schedule.repository';
import { ScheduleTicker } from './adapters/ticker/schedule-ticker';
import { CreateSchedule } from './app/create-schedule.command';
import { DeleteSchedule } from './app/delete-schedule.command';
import { FireDueSchedules } from './app/fire-due-schedules.command';
import { GetSchedule } from './app/get-schedule.query';
import { ListSchedules } from './app/list-schedules.query';
import { PauseSchedule } from './app/pause-schedule.command';
import { ResumeSchedule } from './app/resume-schedule.command';
import { TriggerSchedule } from './app/trigger-schedule.command';
import { UpdateSchedule } from './app/update-schedule.command';
import { CancelJob } from './app/cancel-job.command';
import { ClaimJobs } from './app/claim-jobs.command';
import { CompleteAndClaimJobs } from './app/complete-and-claim-jobs.command';
import { CompleteJob } from './app/complete-job.command';
import { CreateFlow } from './app/create-flow.command';
import { CreateJob } from './app/create-job.command';
import { CreateJobs } from './app/create-jobs.command';
import { FailJob } from './app/fail-job.command';
import { GetJob } from './app/get-job.query';
import { GetQueueStats } from './app/get-queue-stats.query';
import { HeartbeatJob } from './app/heartbeat-job.command';
import { ListJobTypes } from './app/list-job-types.query';
import { ListJobs } from './app/list-jobs.query';
import { systemRuntime, type Runtime } from './app/ports/runtime.port';
import { ReapExpiredLeases } from './app/reap-expired-leases.command';
import { RetryJob } from './app/retry-job.command';
import { ClaimNotifier } from './app/support/claim-notifier';
import type { JobUseCases } from './app/use-cases';
import type { JobServiceConfig } from './config';
import { JobTypeRegistry } from './domain/job-type';

export const SERVICE_NAME = 'job-service';

export interface JobServiceOptions {
  logger?: Logger;
  /** Time and randomness (tests may pin them). */
  runtime?: Runtime;
}

/**
 * The job-service composition root: declared types, the MongoDB repository (jobs + outbox in one
 * transaction), the use cases, the gRPC handler, metrics, the leased reaper and retention.
 */
export async function startJobService(
  config: JobServiceConfig,
  options: JobServiceOptions = {},
): Promise<RunningService> {
  const types = new JobTypeRegistry(config.JOB_TYPES);
  const runtime = options.runtime ?? systemRuntime;
  return startService({
    name: SERVICE_NAME,
    config,
    logger: options.logger,
    async register(ctx) {
      const notifier = new ClaimNotifier();
      const jobs = new MongoJobRepository(
        ctx.mongo.client,
        ctx.mongo.db,
        ctx.outbox,
        (docs) => ctx.relay.offer(docs),
        config.CLAIM_CANDIDATE_TTL_MS,
        // A flow parent released by its last child's change wakes the claimers of its type.
        (job) => notifier.notify(job.type, job.runAt),
      );
      await jobs.ensureIndexes();
      // JOB_TYPES is the initial set: stored once, then the shared catalog is what every replica uses.
      const catalog = new MongoJobTypeRepository(ctx.mongo.client, ctx.mongo.db);
      await catalog.ensureIndexes();
      await new SeedJobTypes({ catalog, runtime }).execute(config.JOB_TYPES);
      const typesLogger = ctx.logger.child({ component: 'job-types' });
      const refreshTypes = new RefreshJobTypes({
        catalog,
        types,
        onUnusable: (type, err) =>
          typesLogger.error({ err, type }, 'stored job type does not compile; UpdateJobType it'),
      });
      await refreshTypes.execute();
      const typeRefresher = new JobTypeRefresher(
        refreshTypes,
        config.JOB_TYPES_REFRESH_MS,
        typesLogger,
        Math.max(config.JOB_TYPES_REFRESH_MS, config.JOB_TYPES_REFRESH_MAX_MS),
      );
      typeRefresher.start();
      const logs = new MongoJobLogRepository(ctx.mongo.client, ctx.mongo.db);
      const schedules = new MongoScheduleRepository(
        ctx.mongo.client,
        ctx.mongo.db,
        ctx.outbox,
        () => ctx.relay.notify(),
        // A schedule created, updated or resumed here fires on time though the ticker sleeps (built
        // below; gRPC serves only once register returns, so it exists by the first change).
        () => ticker.wake(),
      );
      await schedules.ensureIndexes();
      const metrics = createPromJobMetrics(ctx.metrics, jobs);
      ctx.grpc.draining.addEventListener('abort', () => notifier.close(), { once: true });
      const useCases: JobUseCases = {
        createJob: new CreateJob({ jobs, types, notifier, runtime }),
        createJobs: new CreateJobs({ jobs, types, notifier, runtime }),
        createFlow: new CreateFlow({ jobs, types, notifier, runtime }),
        getJob: new GetJob({ jobs }),
        listJobs: new ListJobs({ jobs, types }),
        getQueueStats: new GetQueueStats({ jobs, types, runtime }),
        listJobTypes: new ListJobTypes({ types }),
        cancelJob: new CancelJob({ jobs, runtime, metrics }),
        retryJob: new RetryJob({ jobs, notifier, runtime }),
        claimJobs: new ClaimJobs({
          jobs,
          types,
          notifier,
          runtime,
          metrics,
          pollIntervalMs: config.CLAIM_POLL_INTERVAL_MS,
        }),
        heartbeatJob: new HeartbeatJob({ jobs, runtime }),
        completeJob: new CompleteJob({ jobs, types, runtime, metrics }),
        completeAndClaimJobs: new CompleteAndClaimJobs({ jobs, types, runtime, metrics }),
        failJob: new FailJob({ jobs, notifier, runtime, metrics }),
        appendJobLogs: new AppendJobLogs({
          logs,
          types,
          runtime,
          defaultLimits: { maxLines: config.JOB_LOG_MAX_LINES, maxBytes: config.JOB_LOG_MAX_BYTES },
        }),
        listJobLogs: new ListJobLogs({ jobs, logs }),
        registerJobType: new RegisterJobType({ catalog, types, runtime }),
        updateJobType: new UpdateJobType({ catalog, types, runtime }),
        createSchedule: new CreateSchedule({ schedules, types, runtime }),
        getSchedule: new GetSchedule({ schedules }),
        listSchedules: new ListSchedules({ schedules }),
        updateSchedule: new UpdateSchedule({ schedules, types, runtime }),
        pauseSchedule: new PauseSchedule({ schedules, runtime }),
        resumeSchedule: new ResumeSchedule({ schedules, runtime }),
        deleteSchedule: new DeleteSchedule({ schedules }),
        triggerSchedule: new TriggerSchedule({ schedules, types, runtime, notifier }),
      };
      ctx.grpc.add(jobV1.JobServiceDefinition, jobServiceHandler(useCases, ctx.logger));
      // A holder that stops renewing (crash) is replaced after three of its intervals.
      const lease = (name: string, intervalMs: number) =>
        new Lease(
          ctx.mongo.db,
          name,
          `${hostname()}:${process.pid}:${randomUUID()}`,
          Math.max(5_000, intervalMs * 3),
        );
      const reaper = new LeaseReaper(
        new ReapExpiredLeases({ jobs, notifier, runtime, metrics }),
        lease('job-reaper', config.REAPER_INTERVAL_MS),
        config.REAPER_INTERVAL_MS,
        ctx.logger.child({ component: 'reaper' }),
      );
      reaper.start();
      const retention = new MongoJobRetentionRepository(ctx.mongo.client, ctx.mongo.db);
      await retention.ensureIndexes();
      // Retention is the reaper's pattern on a lease of its own: one replica removes at a time.
      const retentionReaper = new LeaseReaper(
        new ApplyRetention({
          retention,
          types,
          runtime,
          metrics,
          defaults: config.JOB_RETENTION,
        }),
        lease('job-retention', config.JOB_RETENTION_INTERVAL_MS),
        config.JOB_RETENTION_INTERVAL_MS,
        ctx.logger.child({ component: 'retention' }),
        'removed jobs past retention',
      );
      retentionReaper.start();
      const ticker = new ScheduleTicker(
        new FireDueSchedules({ schedules, types, runtime, notifier }),
        {
          intervalMs: config.SCHEDULE_TICK_INTERVAL_MS,
          maxIdleMs: config.SCHEDULE_TICK_MAX_IDLE_MS,
        },
        ctx.logger.child({ component: 'schedule-ticker' }),
      );
      ticker.start();
      return {
        async stop() {
          notifier.close();
          await Promise.all([
            ticker.stop(),
            reaper.stop(),
            retentionReaper.stop(),
            typeRefresher.stop(),
          ]);
        },
      };
    },
  });
}
