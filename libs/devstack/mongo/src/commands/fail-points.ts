/**
 * mongod's `failCommand` fail point (`configureFailPoint`), available only when the server is
 * started with test commands enabled (mongod: `--setParameter enableTestCommands=1`).
 *
 * Semantics follow mongod (src/mongo/db/commands.cpp `shouldActivateFailCommandFailPoint` /
 * `evaluateFailCommandFailPoint`, src/mongo/util/fail_point.cpp):
 *
 * - `mode`: `'alwaysOn'`, `'off'`, `{times: n}` (the next n matching commands, then off),
 *   `{skip: n}` (all after the first n), `{activationProbability: p}`.
 * - A command matches when its name is in `data.failCommands` (and `data.appName` / `data.namespace`
 *   equal the client's, if given). `configureFailPoint` itself is never failed. A command that does
 *   not match does not use up `times`.
 * - Before the command runs: `blockConnection` + `blockTimeMS` delays it; then `closeConnection`
 *   drops the connection without a reply, or `errorCode` fails it with
 *   "Failing command via 'failCommand' failpoint" — the command itself never executes.
 * - After a successful run: `writeConcernError` is attached to the reply (the write is applied).
 * - `errorLabels` replaces the labels the server would compute (an empty array means none).
 *
 * `onPrimaryTransactionalWrite` (used by the driver's retryable-writes tests) acts on retryable
 * writes: with `failBeforeCommitExceptionCode` the write is not applied and fails with that code;
 * unless `closeConnection: false` the connection is then dropped (after a successful write: the
 * write stays applied, the client never sees the reply and retries). Deviation: mongod evaluates it
 * per statement, here per command.
 */
import type { Document } from 'bson';
import { CommandError } from '../errors';
import { isPlainObject } from '../query/documents';
import type { CommandHandler } from './context';

type Mode =
  | { kind: 'off' }
  | { kind: 'alwaysOn' }
  | { kind: 'times'; remaining: number }
  | { kind: 'skip'; remaining: number }
  | { kind: 'probability'; p: number };

export interface FailCommandData {
  failCommands: string[];
  errorCode?: number;
  errorLabels?: string[];
  closeConnection: boolean;
  blockTimeMS: number;
  writeConcernError?: Document;
  appName?: string;
  namespace?: string;
}

/** What the fail point does to one command before it runs. */
export interface FailBefore {
  blockTimeMS: number;
  closeConnection: boolean;
  error: CommandError | null;
  errorLabels?: string[];
}

/** What the fail point does to one successful reply. */
export interface FailAfter {
  writeConcernError: Document;
  errorLabels?: string[];
}

interface CommandTarget {
  name: string;
  appName: string | undefined;
  namespace: string | undefined;
}

const NEVER_FAILED = new Set(['configureFailPoint']);

/** One named fail point: its mode and data, and how often it has fired (mongod's `timesEntered`). */
class FailPoint<D> {
  private mode: Mode = { kind: 'off' };
  data: D | null = null;
  timesEntered = 0;

  configure(mode: Mode, data: D): number {
    const before = this.timesEntered;
    this.mode = mode;
    this.data = data;
    return before;
  }

  /** One evaluation of the mode (callers check their predicate first): true if it fires. */
  fire(): boolean {
    const mode = this.mode;
    switch (mode.kind) {
      case 'off':
        return false;
      case 'alwaysOn':
        break;
      case 'times':
        mode.remaining -= 1;
        if (mode.remaining <= 0) this.mode = { kind: 'off' };
        break;
      case 'skip':
        if (mode.remaining > 0) {
          mode.remaining -= 1;
          return false;
        }
        break;
      case 'probability':
        if (Math.random() >= mode.p) return false;
        break;
    }
    this.timesEntered += 1;
    return true;
  }
}

/** What `onPrimaryTransactionalWrite` does to one retryable write. */
export interface FailTransactionalWrite {
  /** Default true: the connection is dropped after the write (the client never sees the reply). */
  closeConnection: boolean;
  /** Set: the write is not applied and fails with this code. */
  failBeforeCommitExceptionCode?: number;
}

export class FailPoints {
  private readonly failCommand = new FailPoint<FailCommandData>();
  private readonly transactionalWrite = new FailPoint<FailTransactionalWrite>();

  configure(name: unknown, rawMode: unknown, rawData: unknown): number {
    if (name === 'failCommand')
      return this.failCommand.configure(parseMode(rawMode), parseData(rawData ?? {}));
    if (name === 'onPrimaryTransactionalWrite')
      return this.transactionalWrite.configure(parseMode(rawMode), parseWriteData(rawData ?? {}));
    throw CommandError.of(
      'BadValue',
      `failpoint not found: ${String(name)} (the devstack MongoDB server implements failCommand and onPrimaryTransactionalWrite)`,
    );
  }

  before(target: CommandTarget): FailBefore | null {
    const data = this.failCommand.data;
    if (!data || !matches(data, target)) return null;
    if (data.errorCode === undefined && !data.closeConnection && data.blockTimeMS === 0)
      return null;
    if (!this.failCommand.fire()) return null;
    const error =
      data.errorCode === undefined
        ? null
        : new CommandError(data.errorCode, "Failing command via 'failCommand' failpoint");
    return {
      blockTimeMS: data.blockTimeMS,
      closeConnection: data.closeConnection,
      error,
      errorLabels: data.errorLabels,
    };
  }

  after(target: CommandTarget): FailAfter | null {
    const data = this.failCommand.data;
    if (!data?.writeConcernError || !matches(data, target)) return null;
    if (!this.failCommand.fire()) return null;
    return { writeConcernError: { ...data.writeConcernError }, errorLabels: data.errorLabels };
  }

  /** mongod's `onPrimaryTransactionalWrite`, evaluated for each retryable write that executes. */
  onTransactionalWrite(): FailTransactionalWrite | null {
    const data = this.transactionalWrite.data;
    if (!data || !this.transactionalWrite.fire()) return null;
    return data;
  }
}

function matches(data: FailCommandData, target: CommandTarget): boolean {
  if (NEVER_FAILED.has(target.name) || !data.failCommands.includes(target.name)) return false;
  if (data.appName !== undefined && data.appName !== target.appName) return false;
  if (data.namespace !== undefined && data.namespace !== target.namespace) return false;
  return true;
}

function parseMode(raw: unknown): Mode {
  if (raw === 'off') return { kind: 'off' };
  if (raw === 'alwaysOn') return { kind: 'alwaysOn' };
  if (isPlainObject(raw)) {
    const key = Object.keys(raw)[0];
    const value = Number(raw[key ?? '']);
    if (key === 'times' && Number.isInteger(value) && value >= 0)
      return value === 0 ? { kind: 'off' } : { kind: 'times', remaining: value };
    if (key === 'skip' && Number.isInteger(value) && value >= 0)
      return { kind: 'skip', remaining: value };
    if (key === 'activationProbability' && value >= 0 && value <= 1)
      return { kind: 'probability', p: value };
  }
  throw CommandError.of(
    'BadValue',
    `invalid fail point mode ${JSON.stringify(raw)}: expected 'off', 'alwaysOn', {times: n}, {skip: n} or {activationProbability: p}`,
  );
}

function parseData(raw: unknown): FailCommandData {
  if (!isPlainObject(raw)) throw CommandError.of('TypeMismatch', "'data' must be an object");
  const failCommands: unknown = raw.failCommands;
  if (
    failCommands !== undefined &&
    !(Array.isArray(failCommands) && failCommands.every((c) => typeof c === 'string'))
  ) {
    throw CommandError.of('TypeMismatch', "'failCommands' must be an array of command names");
  }
  const data: FailCommandData = {
    failCommands: (failCommands as string[] | undefined) ?? [],
    closeConnection: raw.closeConnection === true,
    blockTimeMS: 0,
  };
  if (raw.errorCode !== undefined) {
    const code = Number(raw.errorCode);
    if (!Number.isInteger(code))
      throw CommandError.of('TypeMismatch', "'errorCode' must be a number");
    data.errorCode = code;
  }
  if (raw.errorLabels !== undefined) {
    const labels: unknown = raw.errorLabels;
    if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string'))
      throw CommandError.of('TypeMismatch', "'errorLabels' must be an array of strings");
    data.errorLabels = labels as string[];
  }
  if (raw.blockConnection === true) {
    const ms = Number(raw.blockTimeMS);
    if (!Number.isFinite(ms) || ms < 0)
      throw CommandError.of('BadValue', "'blockTimeMS' must be given with 'blockConnection'");
    data.blockTimeMS = ms;
  }
  if (raw.writeConcernError !== undefined) {
    if (!isPlainObject(raw.writeConcernError))
      throw CommandError.of('TypeMismatch', "'writeConcernError' must be an object");
    data.writeConcernError = raw.writeConcernError;
  }
  if (typeof raw.appName === 'string') data.appName = raw.appName;
  if (typeof raw.namespace === 'string') data.namespace = raw.namespace;
  return data;
}

function parseWriteData(raw: unknown): FailTransactionalWrite {
  if (!isPlainObject(raw)) throw CommandError.of('TypeMismatch', "'data' must be an object");
  const data: FailTransactionalWrite = { closeConnection: raw.closeConnection !== false };
  if (raw.failBeforeCommitExceptionCode !== undefined)
    data.failBeforeCommitExceptionCode = Number(raw.failBeforeCommitExceptionCode);
  return data;
}

/** The `configureFailPoint` command; registered only with test commands enabled. */
export const configureFailPoint: CommandHandler = (ctx) => {
  if (ctx.db !== 'admin') {
    throw CommandError.of(
      'Unauthorized',
      'configureFailPoint may only be run against the admin database.',
    );
  }
  const failPoints = ctx.server.failPoints;
  if (!failPoints)
    throw CommandError.of('CommandNotFound', "no such command: 'configureFailPoint'");
  const count = failPoints.configure(ctx.cmd.configureFailPoint, ctx.cmd.mode, ctx.cmd.data);
  return { count };
};
