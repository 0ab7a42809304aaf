import type { JobTypeRegistry } from '../domain/job-type';
import { effectiveRetention, TERMINAL_STATES, type EffectiveRetention } from '../domain/retention';
import type { JobMetrics } from './ports/job-metrics.port';
import type { JobRetentionRepository } from './ports/job-retention.repository.port';
import type { Runtime } from './ports/runtime.port';

export interface ApplyRetentionDeps {
  retention: JobRetentionRepository;
  types: JobTypeRegistry;
  runtime: Runtime;
  metrics: JobMetrics;
  /** JOB_RETENTION: what a type leaves unset. */
  defaults: EffectiveRetention;
  /** Jobs one repository call removes at most. */
  batchSize?: number;
}

/**
 * Removes, for every declared type and terminal state, the jobs past its retention (age or count)
 * with their logs; never a job a waiting parent still references. Publishes no event per removed
 * job (no consumer needs one: each job's end was published when it ended; BullMQ and pg-boss also
 * remove silently); the metrics count removals. Runs in one replica at a time (the caller holds
 * the `job-retention` lease).
 */
export class ApplyRetention {
  constructor(private readonly deps: ApplyRetentionDeps) {}

  /** One pass; returns how many jobs it removed. */
  async execute(): Promise<number> {
    const batch = this.deps.batchSize ?? 1_000;
    let total = 0;
    for (const type of this.deps.types.list()) {
      const rules = effectiveRetention(type.retention, this.deps.defaults);
      for (const state of TERMINAL_STATES) {
        const { maxAgeMs, maxCount } = rules[state];
        for (;;) {
          const now = this.deps.runtime.now().getTime();
          const removed = await this.deps.retention.removeFinished(
            {
              type: type.name,
              state,
              finishedAtOrBefore: new Date(now - maxAgeMs),
              keepNewest: maxCount,
            },
            batch,
          );
          if (removed > 0) this.deps.metrics.removed(type.name, state, removed);
          total += removed;
          if (removed < batch) break;
        }
      }
    }
    return total;
  }
}
