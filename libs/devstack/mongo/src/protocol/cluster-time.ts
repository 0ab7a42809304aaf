/**
 * Cluster time, as a replica-set member reports it: every reply carries `operationTime` (the
 * time of the latest committed write when the reply was made) and `$clusterTime` (the same
 * time, with a dummy signature as on a server without keyfile auth). Drivers keep both per
 * session, which is what causal consistency (`readConcern.afterClusterTime`) runs on.
 *
 * The engine's logical clock counts commits; each new engine time maps to a new BSON Timestamp
 * (seconds since the epoch, increment within the second), so timestamps only grow. A client
 * gossiping a later `$clusterTime` advances ours, as mongod does.
 */
import { Binary, type Document, Long, Timestamp } from 'bson';

const ZERO_SIGNATURE = { hash: new Binary(Buffer.alloc(20)), keyId: Long.fromNumber(0) };

export class ClusterClock {
  private engineTime = -1;
  private current = new Timestamp({ t: 0, i: 0 });

  /** The cluster time for engine time `engineTime` (a new one whenever a commit happened). */
  now(engineTime: number): Timestamp {
    if (engineTime !== this.engineTime) {
      this.engineTime = engineTime;
      this.tick();
    }
    return this.current;
  }

  /** A `$clusterTime` from a client: a later time advances the clock. */
  gossip(value: unknown): void {
    const time: unknown = (value as Document | null)?.clusterTime;
    if (time instanceof Timestamp && time.compare(this.current) > 0) this.current = time;
  }

  /** `operationTime` and `$clusterTime` for a reply. */
  stamp(reply: Document, engineTime: number): void {
    const time = this.now(engineTime);
    reply.$clusterTime = { clusterTime: time, signature: ZERO_SIGNATURE };
    reply.operationTime = time;
  }

  private tick(): void {
    const seconds = Math.floor(Date.now() / 1000);
    this.current =
      seconds > this.current.t
        ? new Timestamp({ t: seconds, i: 1 })
        : new Timestamp({ t: this.current.t, i: this.current.i + 1 });
  }
}
