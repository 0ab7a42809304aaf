import type { Collection, Db } from 'mongodb';
import { isDuplicateKeyError } from './with-transaction';

interface LeaseDocument {
  _id: string;
  owner: string;
  expires_at: Date;
}

/**
 * A named lease held by at most one owner at a time (e.g. the one active outbox relay among
 * replicas). Acquire and renew are one atomic findOneAndUpdate each; an expired lease can be taken
 * over by anyone.
 */
export class Lease {
  private readonly collection: Collection<LeaseDocument>;
  /** Until when (this process's clock, ms) the last acquire or renewal holds the lease. */
  private heldUntil = 0;
  /**
   * Set by an acquire that took the lease over from another owner whose lease had expired: that
   * holder died or stalled without releasing it, mid-whatever (the relay then checks what it left
   * in doubt). Unset after a fresh acquire, a renewal or a failed attempt.
   */
  predecessor: string | undefined;

  constructor(
    db: Db,
    readonly name: string,
    readonly owner: string,
    readonly ttlMs: number,
    collection = 'leases',
  ) {
    this.collection = db.collection<LeaseDocument>(collection);
  }

  /** Takes or renews the lease; true while this owner holds it. */
  async tryAcquire(now = new Date()): Promise<boolean> {
    try {
      this.predecessor = undefined;
      // Matches our own or an expired lease; else the upsert's insert fails on the live one's _id.
      const before = await this.collection.findOneAndUpdate(
        { _id: this.name, $or: [{ owner: this.owner }, { expires_at: { $lt: now } }] },
        { $set: { owner: this.owner, expires_at: new Date(now.getTime() + this.ttlMs) } },
        { upsert: true, returnDocument: 'before' },
      );
      if (before && before.owner !== this.owner) this.predecessor = before.owner;
      this.heldUntil = now.getTime() + this.ttlMs;
      return true;
    } catch (err) {
      this.heldUntil = 0;
      // Upsert raced with (or was blocked by) a live lease of another owner.
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
  }

  /**
   * True while this owner holds the lease, renewing it once less than half of it is left: a
   * holder checking before every unit of work (a relay batch) then costs no round trip each time.
   */
  async hold(now = new Date()): Promise<boolean> {
    if (this.heldUntil - now.getTime() > this.ttlMs / 2) return true;
    return this.tryAcquire(now);
  }

  async release(): Promise<void> {
    this.heldUntil = 0;
    await this.collection.deleteOne({ _id: this.name, owner: this.owner });
  }
}
