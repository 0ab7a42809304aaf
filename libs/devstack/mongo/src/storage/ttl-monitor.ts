/**
 * TTL expiry: like mongod's TTLMonitor, every `intervalMs` delete documents whose TTL-indexed date
 * field (or the earliest date in an array) is older than `expireAfterSeconds`. Documents locked by an
 * open transaction are left for the next pass. Non-date values never expire.
 */
import type { Logger } from 'pino';
import { pathValues } from '../query/documents';
import { LockWait } from '../transactions/lock-table';
import type { Engine } from './engine';

export class TtlMonitor {
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly engine: Engine,
    intervalMs: number,
    private readonly logger: Logger,
  ) {
    this.timer = setInterval(() => this.runOnce(), intervalMs);
    this.timer.unref();
  }

  /** One pass; returns how many documents were deleted. */
  runOnce(now = Date.now()): number {
    let deleted = 0;
    for (const colls of this.engine.databases.values()) {
      for (const coll of colls.values()) {
        for (const index of coll.indexes.values()) {
          const secs = index.spec.expireAfterSeconds;
          if (secs === undefined) continue;
          const field = index.fields[0];
          const unit = this.engine.begin(true);
          for (const [, doc] of coll.scanAt(this.engine.clock)) {
            const dates = pathValues(doc, field)
              .flatMap((v) => (Array.isArray(v) ? v : [v]))
              .filter((v): v is Date => v instanceof Date);
            if (dates.length === 0 || !index.covers(doc)) continue;
            const earliest = Math.min(...dates.map((d) => d.getTime()));
            if (earliest + secs * 1000 > now) continue;
            try {
              unit.remove(coll, doc);
              deleted++;
            } catch (err) {
              if (!(err instanceof LockWait)) throw err;
            }
          }
          this.engine.commit(unit);
        }
      }
    }
    if (deleted > 0) this.logger.debug({ deleted }, 'ttl: expired documents removed');
    return deleted;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
