/**
 * Command dispatch: name → handler, plus the session rules that wrap every command:
 *
 * - `autocommit: false` → the command belongs to a multi-document transaction (started by
 *   `startTransaction: true`). Any failure, or a write error, aborts that transaction; WriteConflict
 *   and NoSuchTransaction carry the TransientTransactionError label so withTransaction retries.
 * - `txnNumber` without `autocommit` on a write → a retryable write: a repeat of the same
 *   (lsid, txnNumber) returns the first reply without applying the write again.
 *
 * Every reply is `{..., ok: 1}` or MongoDB's error shape `{ok: 0, errmsg, code, codeName}`.
 */
import type { Document } from 'bson';
import {
  CommandError,
  ErrorCodes,
  noSuchTransaction,
  TRANSIENT_TRANSACTION_ERROR,
} from '../errors';
import { setTimeout as sleep } from 'node:timers/promises';
import { HELLO_COMMANDS, speaks80 } from '../protocol/handshake';
import { isPlainObject } from '../query/documents';
import { numberPathsOfCommand, normalizeDecoded } from '../query/int64';
import { applyLetVariables } from '../query/let-vars';
import type { ServerSession } from '../transactions/sessions';
import { toNumber } from '../transactions/sessions';
import type { Transaction } from '../transactions/transaction';
import { adminCommands } from './admin-commands';
import { bulkWrite, numberPathsOfBulkWrite } from './bulk-write';
import { catalogCommands } from './catalog-commands';
import { serverErrorLabels } from './error-labels';
import { explain } from './explain';
import { configureFailPoint } from './fail-points';
import { checkReadConcern } from './read-concern';
import { writeConcernError } from './write-concern';
import type { CommandContext, CommandHandler, ConnectionInfo, ServerState } from './context';
import { readCommands } from './read-commands';
import { writeCommands } from './write-commands';

const COMMANDS: Record<string, CommandHandler> = {
  ...adminCommands,
  ...readCommands,
  ...writeCommands,
  ...catalogCommands,
  configureFailPoint,
  explain,
};

/** Commands of MongoDB 8.0, unknown to a server presenting 7.0. */
const COMMANDS_80: Record<string, CommandHandler> = { bulkWrite };

/** Writes that may carry a txnNumber outside a transaction (retryable writes). */
const RETRYABLE_WRITES = new Set([
  'insert',
  'update',
  'delete',
  'findAndModify',
  'findandmodify',
  'bulkWrite',
]);

/** Commands mongod allows inside a multi-document transaction. */
const TRANSACTION_COMMANDS = new Set([
  'find',
  'getMore',
  'killCursors',
  'aggregate',
  'distinct',
  ...RETRYABLE_WRITES,
  'create',
  'createIndexes',
  'commitTransaction',
  'abortTransaction',
]);

/** Commands that never touch a session even when the driver attaches lsid. */
const SESSIONLESS = new Set([
  'hello',
  'isMaster',
  'ismaster',
  'endSessions',
  'killSessions',
  'killAllSessions',
  'killAllSessionsByPattern',
]);

/**
 * Runs one command and returns its reply: the `failCommand` fail point (test commands only)
 * around the command itself, then the error labels mongod would attach, then the cluster time.
 */
export async function runCommand(
  server: ServerState,
  conn: ConnectionInfo,
  cmd: Document,
  db: string,
): Promise<Document> {
  recordNumberPaths(server, cmd, db);
  normalizeDecoded(cmd);
  if (cmd.$clusterTime !== undefined) server.clusterClock.gossip(cmd.$clusterTime);
  const reply = await runInjected(server, conn, cmd, db);
  server.clusterClock.stamp(reply, server.engine.clock);
  return reply;
}

/** Int64 / Double field paths a write introduces (read before `normalizeDecoded`). */
function recordNumberPaths(server: ServerState, cmd: Document, db: string): void {
  const name = Object.keys(cmd)[0] ?? '';
  if (name === 'bulkWrite') {
    for (const [ns, paths] of numberPathsOfBulkWrite(cmd)) {
      if (paths.long.size > 0) server.engine.addNumberPaths(ns, 'long', paths.long);
      if (paths.double.size > 0) server.engine.addNumberPaths(ns, 'double', paths.double);
    }
    return;
  }
  const target: unknown = cmd[name];
  if (typeof target !== 'string') return;
  const paths = numberPathsOfCommand(name, cmd);
  if (paths.long.size > 0) server.engine.addNumberPaths(`${db}.${target}`, 'long', paths.long);
  if (paths.double.size > 0)
    server.engine.addNumberPaths(`${db}.${target}`, 'double', paths.double);
}

async function runInjected(
  server: ServerState,
  conn: ConnectionInfo,
  cmd: Document,
  db: string,
): Promise<Document> {
  const name = Object.keys(cmd)[0] ?? '';
  if (HELLO_COMMANDS.has(name)) rememberAppName(conn, cmd);
  try {
    checkReadConcern(name, cmd);
  } catch (err) {
    if (err instanceof CommandError) return labelled(err.toReply(), name, cmd, undefined);
    throw err;
  }
  const failPoints = server.failPoints;
  const target = { name, appName: conn.appName, namespace: namespaceOf(cmd, name, db) };
  const injected = failPoints?.before(target);
  if (injected) {
    if (injected.blockTimeMS > 0) await sleep(injected.blockTimeMS);
    if (injected.closeConnection) {
      conn.close();
      // Never sent: the connection is gone, as with mongod's `session()->end()`.
      return { ok: 0, errmsg: "Failing command due to 'failCommand' failpoint", code: 50985 };
    }
    if (injected.error) return labelled(injected.error.toReply(), name, cmd, injected.errorLabels);
  }
  const reply = await executeCommand(server, conn, cmd, db, name);
  if (reply.ok === 1 && reply.writeConcernError === undefined) {
    const unsatisfied = writeConcernError(cmd);
    if (unsatisfied) reply.writeConcernError = unsatisfied;
  }
  const wce = reply.ok === 1 ? failPoints?.after(target) : null;
  if (wce) {
    reply.writeConcernError = wce.writeConcernError;
    return labelled(reply, name, cmd, wce.errorLabels);
  }
  return labelled(reply, name, cmd, undefined);
}

/** Adds mongod's error labels to a failed reply or one with a writeConcernError. */
function labelled(
  reply: Document,
  name: string,
  cmd: Document,
  override: string[] | undefined,
): Document {
  const wcError: unknown = reply.writeConcernError;
  const wcCode =
    wcError && typeof (wcError as Document).code === 'number'
      ? ((wcError as Document).code as number)
      : undefined;
  if (reply.ok === 1 && wcError === undefined) return reply;
  let labels: string[];
  if (override) {
    labels = override;
  } else {
    const code = reply.ok === 1 ? undefined : Number(reply.code);
    const existing: unknown = reply.errorLabels;
    labels = [
      ...new Set([
        ...(Array.isArray(existing) ? (existing as string[]) : []),
        ...serverErrorLabels(name, cmd, code, wcCode),
      ]),
    ];
  }
  delete reply.errorLabels;
  if (labels.length > 0) reply.errorLabels = labels;
  return reply;
}

function rememberAppName(conn: ConnectionInfo, cmd: Document): void {
  const client: unknown = cmd.client;
  const application: unknown = isPlainObject(client) ? client.application : undefined;
  const appName: unknown = isPlainObject(application) ? application.name : undefined;
  if (typeof appName === 'string') conn.appName = appName;
}

function namespaceOf(cmd: Document, name: string, db: string): string {
  const target: unknown = cmd[name];
  return typeof target === 'string' ? `${db}.${target}` : db;
}

async function executeCommand(
  server: ServerState,
  conn: ConnectionInfo,
  cmd: Document,
  db: string,
  name: string,
): Promise<Document> {
  try {
    rejectCollation(cmd);
    applyLetVariables(cmd);
    const handler = COMMANDS[name] ?? (speaks80({ server }) ? COMMANDS_80[name] : undefined);
    if (!handler && name !== 'commitTransaction' && name !== 'abortTransaction') {
      throw CommandError.of('CommandNotFound', `no such command: '${name}'`);
    }
    const maxTimeMS = typeof cmd.maxTimeMS === 'number' && cmd.maxTimeMS > 0 ? cmd.maxTimeMS : 0;
    const ctx: CommandContext = {
      server,
      conn,
      name,
      cmd,
      db,
      tx: null,
      deadline: maxTimeMS ? Date.now() + maxTimeMS : null,
    };
    const reply = await runWithSession(ctx, handler);
    reply.ok = 1;
    return reply;
  } catch (err) {
    if (err instanceof CommandError) return err.toReply();
    server.logger.error({ err, command: name, conn: conn.id }, 'command failed unexpectedly');
    return {
      ok: 0,
      errmsg: `internal error in ${name}: ${(err as Error)?.message ?? String(err)}`,
      code: 1,
      codeName: 'InternalError',
    };
  }
}

async function runWithSession(
  ctx: CommandContext,
  handler: CommandHandler | undefined,
): Promise<Document> {
  const { cmd, name, server } = ctx;
  const session =
    cmd.lsid !== undefined && !SESSIONLESS.has(name) ? server.sessions.get(cmd.lsid) : null;
  const txnNumber = cmd.txnNumber !== undefined ? toNumber(cmd.txnNumber) : undefined;

  if (cmd.autocommit !== undefined) {
    if (cmd.autocommit !== false)
      throw CommandError.of('InvalidOptions', 'autocommit field can only be specified as false');
    if (!session || txnNumber === undefined) {
      throw CommandError.of(
        'InvalidOptions',
        "'autocommit' field requires a transaction number to also be specified",
      );
    }
    const tx = server.sessions.transactionFor(
      session,
      txnNumber,
      cmd.startTransaction === true,
      name,
    );
    return runInTransaction(ctx, tx, handler);
  }
  if (cmd.startTransaction !== undefined) {
    throw CommandError.of(
      'InvalidOptions',
      "'startTransaction' field requires 'autocommit' field to also be specified",
    );
  }
  if (name === 'commitTransaction' || name === 'abortTransaction') {
    throw CommandError.of('InvalidOptions', `${name} must be run within a transaction`);
  }
  if (!handler) throw CommandError.of('CommandNotFound', `no such command: '${name}'`);
  if (session && txnNumber !== undefined && RETRYABLE_WRITES.has(name))
    return runRetryable(ctx, session, txnNumber, handler);
  return await handler(ctx);
}

async function runInTransaction(
  ctx: CommandContext,
  tx: Transaction,
  handler: CommandHandler | undefined,
): Promise<Document> {
  const engine = ctx.server.engine;
  if (ctx.name === 'commitTransaction') {
    if (tx.state === 'active') engine.commit(tx);
    return {};
  }
  if (ctx.name === 'abortTransaction') {
    if (tx.state === 'committed')
      throw CommandError.of('TransactionCommitted', 'Transaction has been committed.');
    if (tx.state === 'aborted') throw noSuchTransaction(tx.txnNumber);
    engine.abort(tx, 'abortTransaction');
    return {};
  }
  if (!handler) throw CommandError.of('CommandNotFound', `no such command: '${ctx.name}'`);
  if (!TRANSACTION_COMMANDS.has(ctx.name)) {
    engine.abort(tx, `${ctx.name} is not allowed in a transaction`);
    throw CommandError.of(
      'OperationNotSupportedInTransaction',
      `Cannot run '${ctx.name}' in a multi-document transaction.`,
    );
  }
  ctx.tx = tx;
  try {
    const reply = await handler(ctx);
    const failed =
      (Array.isArray(reply.writeErrors) && reply.writeErrors.length > 0) ||
      (typeof reply.nErrors === 'number' && reply.nErrors > 0);
    if (failed) engine.abort(tx, 'write error');
    return reply;
  } catch (err) {
    engine.abort(tx, err instanceof Error ? err.message : String(err));
    if (
      err instanceof CommandError &&
      isTransient(err) &&
      !err.labels.includes(TRANSIENT_TRANSACTION_ERROR)
    ) {
      err.labels.push(TRANSIENT_TRANSACTION_ERROR);
    }
    throw err;
  }
}

function isTransient(err: CommandError): boolean {
  return err.code === ErrorCodes.WriteConflict || err.code === ErrorCodes.NoSuchTransaction;
}

async function runRetryable(
  ctx: CommandContext,
  session: ServerSession,
  txnNumber: number,
  handler: CommandHandler,
): Promise<Document> {
  const sessions = ctx.server.sessions;
  const previous = sessions.beginRetryableWrite(session, txnNumber);
  if (previous) return { ...previous };
  const injected = ctx.server.failPoints?.onTransactionalWrite();
  if (injected?.failBeforeCommitExceptionCode !== undefined) {
    if (injected.closeConnection) ctx.conn.close();
    throw new CommandError(
      injected.failBeforeCommitExceptionCode,
      'Failing write for test due to failBeforeCommitExceptionCode',
    );
  }
  const reply = await handler(ctx);
  sessions.rememberRetryableWrite(session, txnNumber, { ...reply });
  if (injected?.closeConnection) ctx.conn.close();
  return reply;
}

/**
 * Collation changes string comparison; mingo-backed matching here is always binary. Rather than
 * answer with a silently different result, a non-simple collation is refused.
 */
function rejectCollation(cmd: Document): void {
  const specs: unknown[] = [cmd.collation];
  for (const field of ['updates', 'deletes', 'indexes', 'ops']) {
    const list: unknown = cmd[field];
    if (Array.isArray(list)) for (const st of list) specs.push((st as Document | null)?.collation);
  }
  for (const spec of specs) {
    if (spec === undefined || spec === null) continue;
    const locale = (spec as Document).locale;
    if (locale !== 'simple') {
      throw CommandError.of(
        'BadValue',
        `collation ${JSON.stringify(spec)} is not supported by the devstack MongoDB server (only locale 'simple')`,
      );
    }
  }
}
