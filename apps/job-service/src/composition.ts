import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { jobV1 } from '@trellis/contracts';
import type { Logger } from '@trellis/platform/logging';
import { Lease } from '@trellis/platform/mongo';
import { startService, type RunningService } from '@trellis/platform/runtime';

import { jobServiceHandler } from './adapters/grpc/job-service.handler';
import { createPromJobMetrics } from './adapters/metrics/prom-job-metrics';
import { LeaseReaper } from './adapters/mongo/lease-reaper';
import { MongoJobRepository } from './adapters/mongo/mongo-job.repository';
import { MongoJobLogRepository } from './adapters/mongo/job-log.repository';
import { MongoJobTypeRepository } from './adapters/mongo/job-type.repository';
import { JobTypeRefresher } from './adapters/mongo/job-type-refresher';
import { AppendJobLogs } from './app/append-job-logs.command';
import { ListJobLogs } from './app/list-job-logs.query';
import { RefreshJobTypes } from './app/refresh-job-types.command';
import { RegisterJobType } from './app/register-job-type.command';
import { SeedJobTypes } from './app/seed-job-types.command';
import { UpdateJobType } from './app/update-job-type.command';
import { CancelJob } from './app/cancel-job.command';
import { ClaimJobs } from './app/claim-jobs.command';
import { CompleteAndClaimJobs } from './app/complete-and-claim-jobs.command';
import { CompleteJob } from './app/complete-job.command';
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
 * transaction), the use cases, the gRPC handler, metrics and the leased reaper.
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
      const jobs = new MongoJobRepository(
        ctx.mongo.client,
        ctx.mongo.db,
        ctx.outbox,
        (docs) => ctx.relay.offer(docs),
        config.CLAIM_CANDIDATE_TTL_MS,
      );
      await jobs.ensureIndexes();
      // JOB_TYPES is the initial set: stored once, then the shared catalog is what every replica uses.
      const catalog = new MongoJobTypeRepository(ctx.mongo.client, ctx.mongo.db);
      await catalog.ensureIndexes();
      await new SeedJobTypes({ catalog, runtime }).execute(config.JOB_TYPES);
      const refreshTypes = new RefreshJobTypes({ catalog, types });
      await refreshTypes.execute();
      const typeRefresher = new JobTypeRefresher(
        refreshTypes,
        config.JOB_TYPES_REFRESH_MS,
        ctx.logger.child({ component: 'job-types' }),
      );
      typeRefresher.start();
      const logs = new MongoJobLogRepository(ctx.mongo.client, ctx.mongo.db);
      const metrics = createPromJobMetrics(ctx.metrics, jobs);
      const notifier = new ClaimNotifier();
      ctx.grpc.draining.addEventListener('abort', () => notifier.close(), { once: true });
      const useCases: JobUseCases = {
        createJob: new CreateJob({ jobs, types, notifier, runtime }),
        createJobs: new CreateJobs({ jobs, types, notifier, runtime }),
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
      };
      ctx.grpc.add(jobV1.JobServiceDefinition, jobServiceHandler(useCases, ctx.logger));
      const reaper = new LeaseReaper(
        new ReapExpiredLeases({ jobs, notifier, runtime, metrics }),
        new Lease(
          ctx.mongo.db,
          'job-reaper',
          `${hostname()}:${process.pid}:${randomUUID()}`,
          Math.max(5_000, config.REAPER_INTERVAL_MS * 3),
        ),
        config.REAPER_INTERVAL_MS,
        ctx.logger.child({ component: 'reaper' }),
      );
      reaper.start();
      return {
        async stop() {
          notifier.close();
          await Promise.all([reaper.stop(), typeRefresher.stop()]);
        },
      };
    },
  });
}
