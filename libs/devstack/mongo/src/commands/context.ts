/**
 * What a command handler gets, and the helpers every handler shares: argument parsing, the view
 * to read from, and `runStatement`, which runs one write statement either inside the session's
 * transaction or as its own auto-committed unit (waiting for transaction locks as mongod does).
 */
import type { Document, ObjectId } from 'bson';
import type { Logger } from 'pino';
import type { CursorRegistry } from '../cursors';
import { CommandError } from '../errors';
import type { ClusterClock } from '../protocol/cluster-time';
import type { WireVersion } from '../protocol/handshake';
import type { FailPoints } from './fail-points';
import { isPlainObject } from '../query/documents';
import { compileFilter } from '../query/mingo-adapter';
import type { Collection } from '../storage/collection';
import type { Index } from '../storage/index-catalog';
import type { Engine } from '../storage/engine';
import { valueKey } from '../storage/keys';
import { planQuery, type TopK } from '../storage/query-plan';
import { LockWait } from '../transactions/lock-table';
import type { SessionRegistry } from '../transactions/sessions';
import type { Transaction } from '../transactions/transaction';

export interface ServerState {
  engine: Engine;
  cursors: CursorRegistry;
  sessions: SessionRegistry;
  logger: Logger;
  /** "host:port" as clients address us; goes into hosts/primary/me. */
  hostPort: string;
  setName: string;
  electionId: ObjectId;
  /** The `failCommand` fail point; null unless started with test commands enabled. */
  failPoints: FailPoints | null;
  /** `operationTime` / `$clusterTime` of every reply. */
  clusterClock: ClusterClock;
  /** The MongoDB version presented (hello, buildInfo) and the commands that go with it. */
  maxWireVersion: WireVersion;
}

export interface ConnectionInfo {
  id: number;
  remote: string;
  /** `client.application.name` from this connection's handshake (fail points match on it). */
  appName?: string;
  /** Drops the connection without a reply (a fail point's `closeConnection`). */
  close(): void;
}

export interface CommandContext {
  server: ServerState;
  conn: ConnectionInfo;
  /** Command name (first key of the body). */
  name: string;
  cmd: Document;
  db: string;
  /** The multi-document transaction this command belongs to, if any. */
  tx: Transaction | null;
  /** Epoch ms from maxTimeMS, or null. */
  deadline: number | null;
}

export type CommandHandler = (ctx: CommandContext) => Document | Promise<Document>;

/** The collection name in `cmd[name]`. */
export function collectionArg(ctx: CommandContext, field = ctx.name): string {
  const value: unknown = ctx.cmd[field];
  if (typeof value !== 'string' || value.length === 0) {
    throw CommandError.of('InvalidNamespace', `collection name has invalid type ${typeof value}`);
  }
  return value;
}

export function optionalNumber(ctx: CommandContext, field: string): number | undefined {
  const v: unknown = ctx.cmd[field];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n))
    throw CommandError.of('TypeMismatch', `BSON field '${field}' is the wrong type`);
  return n;
}

export function optionalDocument(ctx: CommandContext, field: string): Document | undefined {
  const v: unknown = ctx.cmd[field];
  if (v === undefined || v === null) return undefined;
  if (!isPlainObject(v))
    throw CommandError.of(
      'TypeMismatch',
      `BSON field '${field}' is the wrong type, expected type 'object'`,
    );
  return v;
}

export function arrayArg(ctx: CommandContext, field: string): Document[] {
  const v: unknown = ctx.cmd[field];
  if (!Array.isArray(v))
    throw CommandError.of('TypeMismatch', `BSON field '${field}' is missing or not an array`);
  return v as Document[];
}

/** `DEVSTACK_MONGO_PLANNER=off` answers every query with a scan (to rule the planner out). */
const PLANNER_DEFAULT: 'auto' | 'scan' =
  process.env.DEVSTACK_MONGO_PLANNER === 'off' ? 'scan' : 'auto';

/** The unit reads go through: the transaction, or a fresh snapshot of now. */
export function readView(ctx: CommandContext): Transaction {
  return ctx.tx ?? ctx.server.engine.begin(true);
}

/**
 * Documents of `coll` matching `filter` as seen by `view`, in natural order. An equality on `_id`
 * (or `$in` of plain values) is looked up directly; otherwise the planner (storage/query-plan.ts)
 * takes candidates from indexes when that is cheaper than a scan. With `top` the caller sorts the
 * result by `top.sort` and keeps the first `top.k`: then only those (and their ties) need to be
 * among the results, which lets an index walk in sort order stop early. `plan: 'scan'` forces the
 * scan (tests compare both; DEVSTACK_MONGO_PLANNER=off makes it the default, for debugging).
 */
export function matchingDocs(
  view: Transaction,
  coll: Collection | undefined,
  filter: Document,
  limit = Infinity,
  plan: 'auto' | 'scan' = PLANNER_DEFAULT,
  top?: TopK,
): Document[] {
  if (!coll) return [];
  const ids = idLookup(filter);
  // A filter that is only the _id lookup needs no matcher (the common findOne/updateOne by _id).
  const matcher = ids && Object.keys(filter).length === 1 ? () => true : compileFilter(filter);
  const out: Document[] = [];
  if (ids) {
    for (const id of ids) {
      const doc = view.get(coll, valueKey(id));
      if (doc && matcher(doc)) out.push(doc);
      if (out.length >= limit) break;
    }
    return out;
  }
  const planned = plan === 'auto' ? planQuery(view, coll, filter, matcher, top) : null;
  if (planned) {
    for (const key of planned.keys) {
      const doc = view.get(coll, key);
      if (!doc || !matcher(doc)) continue;
      out.push(doc);
      if (out.length >= limit) break;
    }
    return out;
  }
  for (const doc of view.scan(coll)) {
    if (!matcher(doc)) continue;
    out.push(doc);
    if (out.length >= limit) break;
  }
  return out;
}

function idLookup(filter: Document): unknown[] | null {
  if (!('_id' in filter)) return null;
  const id: unknown = filter._id;
  if (isSimpleValue(id)) return [id];
  if (isPlainObject(id)) {
    const keys = Object.keys(id);
    if (keys.length === 1 && keys[0] === '$eq' && isSimpleValue(id.$eq)) return [id.$eq];
    if (
      keys.length === 1 &&
      keys[0] === '$in' &&
      Array.isArray(id.$in) &&
      id.$in.every(isSimpleValue)
    ) {
      const seen = new Set<string>();
      return (id.$in as unknown[]).filter((v) => {
        const k = valueKey(v);
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      });
    }
  }
  return null;
}

function isSimpleValue(v: unknown): boolean {
  if (v === null || v instanceof RegExp || Array.isArray(v)) return false;
  if (isPlainObject(v)) return !Object.keys(v).some((k) => k.startsWith('$'));
  return true;
}

/**
 * Runs one write statement. In a transaction: directly (errors abort the transaction upstream).
 * Otherwise: in its own unit, committed at the end; if a transaction holds a lock it needs, the
 * unit is discarded, we wait for the lock, and run the statement again. A statement that fails
 * half-way keeps what it already wrote (like a multi-update on mongod).
 */
export async function runStatement<T>(
  ctx: CommandContext,
  statement: (unit: Transaction) => T,
): Promise<T> {
  if (ctx.tx) return statement(ctx.tx);
  const engine = ctx.server.engine;
  for (;;) {
    const unit = engine.begin(true);
    try {
      const result = statement(unit);
      engine.commit(unit);
      return result;
    } catch (err) {
      if (err instanceof LockWait) {
        engine.abort(unit, 'lock wait');
        await engine.locks.waitFor(err.key, ctx.deadline);
        continue;
      }
      engine.commit(unit);
      throw err;
    }
  }
}

/** Whether an error from a statement becomes a `writeErrors` entry (vs failing the command). */
export function isWriteError(err: unknown): err is CommandError {
  return err instanceof CommandError && err.code !== 112 && err.code !== 50 && err.code !== 251;
}

/**
 * A `hint` must name an existing index (by name or key pattern), as mongod's planner requires.
 * Returns the hinted index when it is sparse or partial: mongod then only sees the documents that
 * index holds, so callers filter with `covers` (other hints do not change results and are ignored).
 */
export function checkHint(coll: Collection | undefined, hint: unknown): Index | undefined {
  if (hint === undefined || hint === null || !coll) return undefined;
  let found: Index | undefined;
  if (typeof hint === 'string') {
    found = coll.indexes.get(hint);
  } else if (isPlainObject(hint)) {
    if (Object.keys(hint).length === 0 || hint.$natural !== undefined) return undefined;
    const wanted = JSON.stringify(hint);
    for (const index of coll.indexes.values())
      if (JSON.stringify(index.spec.key) === wanted) found = index;
  } else {
    throw CommandError.of('FailedToParse', 'hint must be either a string or nested object');
  }
  if (!found)
    throw CommandError.of(
      'BadValue',
      'error processing query: planner returned error :: caused by :: hint provided does not correspond to an existing index',
    );
  return found.spec.sparse || found.spec.partialFilterExpression ? found : undefined;
}
