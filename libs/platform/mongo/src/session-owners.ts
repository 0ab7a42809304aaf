import { randomUUID } from 'node:crypto';
import type { Binary, ClientSession, Collection, Db, MongoClient, UpdateFilter } from 'mongodb';
import type { Logger } from '@trellis/platform/logging';

interface OwnerDocument {
  /** The process instance (a random UUID per start). */
  _id: string;
  service: string;
  /** Bumped by every heartbeat; a count that stops moving means the instance is gone. */
  beat: number;
  /**
   * Set while the instance is idle (no transaction for a while) and beats only this often; the
   * watchers then wait this much longer before taking it for dead.
   */
  idle_beat_ms?: number;
  /** The server-session ids (`lsid.id`) this instance runs transactions on. */
  lsids: Binary[];
  started_at: Date;
}

export interface SessionOwnersOptions {
  /** Recorded with the instance, for logs. */
  service: string;
  logger: Logger;
  /** How often this instance proves it is alive and looks for dead ones; default 1000 ms. */
  heartbeatMs?: number;
  /** How long another instance's heartbeat must stand still before it counts as dead; default 4000 ms. */
  deadAfterMs?: number;
  /**
   * With no transaction for `idleAfterMs` (default 10 s), the instance beats and sweeps only every
   * `idleHeartbeatMs` (default 10 s): an idle system is not kept busy by its own bookkeeping.
   */
  idleAfterMs?: number;
  idleHeartbeatMs?: number;
  /** An lsid without a transaction for this long is forgotten; default 30 min (mongod's session timeout). */
  idleSessionMs?: number;
  collection?: string;
}

const owners = new WeakMap<MongoClient, SessionOwners>();

/**
 * Frees what a killed process's transactions hold, in seconds rather than after MongoDB's
 * `transactionLifetimeLimitSeconds` (60 s by default): a transaction left open by a dead process
 * keeps its documents write-locked, so every transaction on them fails with WriteConflict until
 * the server reaps it.
 *
 * Each instance records, in its own database, the server-session ids it runs transactions on
 * (`register`, once per pooled session, before its first transaction) and bumps a heartbeat count.
 * Every instance watches the others' counts; one that has stood still for `deadAfterMs` (by the
 * watcher's own clock, so clock skew does not matter) belongs to a dead instance, whose sessions
 * are then ended with `killSessions`. mongod aborts their open transactions and releases their
 * locks; a live instance wrongly taken for dead only sees its transactions retried
 * (TransientTransactionError), and its next heartbeat records it again.
 */
export class SessionOwners {
  readonly instanceId = randomUUID();
  private readonly collection: Collection<OwnerDocument>;
  private readonly heartbeatMs: number;
  private readonly deadAfterMs: number;
  private readonly idleSessionMs: number;
  /** Registered lsids by hex id, with when a transaction last started on each. */
  private readonly known = new Map<string, { id: Binary; usedAt: number }>();
  private lastPrune = Date.now();
  private pruning: Promise<void> | undefined;
  private readonly registering = new Map<string, Promise<void>>();
  /** Other instances: the last beat seen and since when (this process's clock). */
  private readonly watched = new Map<string, { beat: number; since: number }>();
  private beat = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** When this instance last started a transaction (or started). */
  private activeAt = Date.now();
  /** Beating at the idle pace: the record says so. */
  private idle = false;
  private ticking: Promise<void> | undefined;

  constructor(
    private readonly client: MongoClient,
    db: Db,
    private readonly options: SessionOwnersOptions,
  ) {
    this.collection = db.collection<OwnerDocument>(options.collection ?? 'session_owners');
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    this.deadAfterMs = options.deadAfterMs ?? 4000;
    // mongod's localLogicalSessionTimeoutMinutes default: an idle session is gone after this.
    this.idleSessionMs = options.idleSessionMs ?? 30 * 60_000;
  }

  /** The registry `withTransaction` uses for `client`, if one was started. */
  static of(client: MongoClient): SessionOwners | undefined {
    return owners.get(client);
  }

  /** Records this instance, takes a first look at the others and starts the heartbeat. */
  async start(): Promise<void> {
    await this.heartbeat();
    await this.sweep();
    owners.set(this.client, this);
    this.schedule(this.heartbeatMs);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.ticking ??= this.tick().finally(() => {
        this.ticking = undefined;
        const idle = Date.now() - this.activeAt >= this.idleAfterMs;
        this.schedule(idle && this.idle ? this.idleHeartbeatMs : this.heartbeatMs);
      });
    }, ms);
    this.timer.unref();
  }

  /** `update` also writing the record's pace: the idle pace while idle, none while busy. */
  private paced(
    update: UpdateFilter<OwnerDocument> & { $set: Partial<OwnerDocument> },
  ): UpdateFilter<OwnerDocument> {
    return this.idle
      ? { ...update, $set: { ...update.$set, idle_beat_ms: this.idleHeartbeatMs } }
      : { ...update, $unset: { idle_beat_ms: '' } };
  }

  private get idleAfterMs(): number {
    return this.options.idleAfterMs ?? 10_000;
  }

  private get idleHeartbeatMs(): number {
    return Math.max(this.heartbeatMs, this.options.idleHeartbeatMs ?? 10_000);
  }

  /** Records the session's server-session id before the session's first transaction. */
  async register(session: ClientSession): Promise<void> {
    const id = session.id?.id;
    if (!id) return;
    this.activeAt = Date.now();
    // Back to the busy pace at once. Until that beat lands, a death would be noticed only after
    // the idle pace's longer wait: still seconds, not the server's 60 s.
    if (this.idle && !this.ticking) this.schedule(0);
    const key = id.toString('hex');
    const entry = this.known.get(key);
    if (entry) {
      entry.usedAt = Date.now();
      return;
    }
    let pending = this.registering.get(key);
    if (!pending) {
      pending = (async () => {
        await this.pruning; // a prune's $pull must not land after this $addToSet
        const { matchedCount } = await this.collection.updateOne(
          { _id: this.instanceId },
          { $addToSet: { lsids: id } },
        );
        if (matchedCount === 0) await this.recordAll([id]);
        this.known.set(key, { id, usedAt: Date.now() });
      })().finally(() => this.registering.delete(key));
      this.registering.set(key, pending);
    }
    await pending;
  }

  /**
   * Kills the sessions of every instance whose heartbeat has not moved for `deadAfterMs` and
   * forgets it; returns how many instances were released.
   */
  async sweep(now = Date.now()): Promise<number> {
    const others = await this.collection.find({ _id: { $ne: this.instanceId } }).toArray();
    const present = new Set(others.map((doc) => doc._id));
    for (const id of this.watched.keys()) if (!present.has(id)) this.watched.delete(id);
    let released = 0;
    for (const doc of others) {
      const seen = this.watched.get(doc._id);
      if (!seen || seen.beat !== doc.beat) {
        this.watched.set(doc._id, { beat: doc.beat, since: now });
        continue;
      }
      if (now - seen.since < this.deadAfterMs + (doc.idle_beat_ms ?? 0)) continue;
      // Never an empty list: `killSessions: []` kills every session of this user, live ones too.
      if (doc.lsids.length > 0)
        await this.client.db('admin').command({ killSessions: doc.lsids.map((id) => ({ id })) });
      // Only if it is still dead: a live instance taken for dead has bumped its count meanwhile.
      await this.collection.deleteOne({ _id: doc._id, beat: doc.beat });
      this.watched.delete(doc._id);
      released++;
      this.options.logger.info(
        { instance: doc._id, owner_service: doc.service, sessions: doc.lsids.length },
        'killed the sessions of a dead instance, releasing what its open transactions held',
      );
    }
    return released;
  }

  /** Stops the heartbeat and removes this instance (its sessions end with the client). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.ticking;
    owners.delete(this.client);
    // Bounded: shutting down while MongoDB is away must not wait for server selection.
    await this.collection.deleteOne({ _id: this.instanceId }, { timeoutMS: 2000 });
  }

  private async tick(): Promise<void> {
    try {
      await this.heartbeat();
      await this.sweep();
      await this.prune();
    } catch (err) {
      this.options.logger.warn({ err }, 'session owner heartbeat failed');
    }
  }

  /**
   * Bumps the count; if the record is gone (this instance was wrongly taken for dead), writes it
   * again with every known lsid.
   */
  private async heartbeat(): Promise<void> {
    this.idle = Date.now() - this.activeAt >= this.idleAfterMs;
    const { matchedCount } = await this.collection.updateOne(
      { _id: this.instanceId },
      this.paced({ $set: { beat: ++this.beat } }),
    );
    if (matchedCount === 0) await this.recordAll();
  }

  /** Writes this instance's record with every known lsid (and `extra`), creating it if need be. */
  private async recordAll(extra: Binary[] = []): Promise<void> {
    const lsids = [...[...this.known.values()].map((e) => e.id), ...extra];
    await this.collection.updateOne(
      { _id: this.instanceId },
      this.paced({
        $set: { beat: this.beat, service: this.options.service },
        $addToSet: { lsids: { $each: lsids } },
        $setOnInsert: { started_at: new Date() },
      }),
      { upsert: true },
    );
  }

  /**
   * Forgets lsids idle for longer than MongoDB keeps an idle session (`idleSessionMs`): no transaction
   * can be open on them, and the record stays small however many sessions a burst once pooled.
   */
  private async prune(now = Date.now()): Promise<void> {
    if (now - this.lastPrune < Math.min(60_000, this.idleSessionMs)) return;
    this.lastPrune = now;
    const idle = [...this.known].filter(([, e]) => now - e.usedAt > this.idleSessionMs);
    if (idle.length === 0) return;
    for (const [key] of idle) this.known.delete(key);
    this.pruning = this.collection
      .updateOne({ _id: this.instanceId }, {
        // The driver's types do not take $in over Binary elements.
        $pull: { lsids: { $in: idle.map(([, e]) => e.id) } },
      } as UpdateFilter<OwnerDocument>)
      .then(() => undefined);
    await this.pruning;
  }
}
