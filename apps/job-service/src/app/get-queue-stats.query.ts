import type { JobTypeRegistry } from '../domain/job-type';
import type { JobRepository } from './ports/job.repository.port';
import type { Runtime } from './ports/runtime.port';

export interface JobTypeStats {
  type: string;
  pending: number;
  due: number;
  running: number;
  succeeded: number;
  dead: number;
  cancelled: number;
  /** Flow parents whose children have not all finished. */
  waitingChildren: number;
  /** now - run_at of the oldest due PENDING job; null when none is due. */
  oldestPendingAgeMs: number | null;
}

export interface GetQueueStatsDeps {
  jobs: JobRepository;
  types: JobTypeRegistry;
  runtime: Runtime;
}

export class GetQueueStats {
  constructor(private readonly deps: GetQueueStatsDeps) {}

  async execute(input: { types: string[] }): Promise<{ stats: JobTypeStats[]; asOf: Date }> {
    // Only declared types take jobs (CreateJob refuses others): refused as CreateJob does.
    input.types.forEach((type, i) => this.deps.types.get(type, `types[${i}]`));
    const now = this.deps.runtime.now();
    const [counts, due] = await Promise.all([
      this.deps.jobs.countByTypeAndState(input.types),
      this.deps.jobs.duePending(input.types, now),
    ]);
    const byType = new Map<string, JobTypeStats>();
    const entry = (type: string) => {
      let stats = byType.get(type);
      if (!stats) {
        stats = {
          type,
          pending: 0,
          due: 0,
          running: 0,
          succeeded: 0,
          dead: 0,
          cancelled: 0,
          waitingChildren: 0,
          oldestPendingAgeMs: null,
        };
        byType.set(type, stats);
      }
      return stats;
    };
    const wanted = input.types.length > 0 ? input.types : this.deps.types.list().map((t) => t.name);
    for (const type of wanted) entry(type);
    for (const { type, state, count } of counts) {
      const stats = entry(type);
      if (state === 'PENDING') stats.pending += count;
      else if (state === 'RUNNING') stats.running += count;
      else if (state === 'SUCCEEDED') stats.succeeded += count;
      else if (state === 'DEAD') stats.dead += count;
      else if (state === 'WAITING_CHILDREN') stats.waitingChildren += count;
      else stats.cancelled += count;
    }
    for (const { type, count, oldestRunAt } of due) {
      const stats = entry(type);
      stats.due = count;
      stats.oldestPendingAgeMs = Math.max(0, now.getTime() - oldestRunAt.getTime());
    }
    const stats = [...byType.values()].sort((a, b) => a.type.localeCompare(b.type));
    return { stats, asOf: now };
  }
}
