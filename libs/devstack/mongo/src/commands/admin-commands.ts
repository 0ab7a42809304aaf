/** Server-level commands: handshake, ping, buildInfo, endSessions, killSessions, parameters. */
import { createHash } from 'node:crypto';
import { Binary, type Document } from 'bson';
import { CommandError } from '../errors';
import { sessionKey } from '../transactions/sessions';
import { helloReply, serverVersion } from '../protocol/handshake';
import type { CommandContext, CommandHandler } from './context';

const buildInfo: CommandHandler = (ctx) => ({
  version: serverVersion(ctx.server.maxWireVersion),
  gitVersion: 'trellis-devstack',
  versionArray: serverVersion(ctx.server.maxWireVersion).split('.').map(Number).concat([0]),
  bits: 64,
  debug: false,
  maxBsonObjectSize: 16 * 1024 * 1024,
  storageEngines: ['devstack'],
  modules: [],
  maxWireVersion: ctx.server.maxWireVersion,
});

const endSessions: CommandHandler = (ctx) => {
  const ids: unknown = ctx.cmd.endSessions;
  if (Array.isArray(ids)) for (const lsid of ids) ctx.server.sessions.end(lsid);
  return {};
};

/**
 * mongod stamps every session with `uid`, the SHA-256 of its user's name; without authentication
 * (the devstack's only mode) that is the digest of the empty string, for every session.
 */
const NO_AUTH_UID = createHash('sha256').digest();

function listOf(ctx: CommandContext, field: string): unknown[] {
  const value: unknown = ctx.cmd[field];
  if (!Array.isArray(value))
    throw CommandError.of(
      'TypeMismatch',
      `BSON field '${field}' is the wrong type '${typeof value}', expected type 'array'`,
    );
  return value;
}

function isNoAuthUid(uid: unknown): boolean {
  return uid instanceof Binary && Buffer.from(uid.buffer).equals(NO_AUTH_UID);
}

/**
 * One killAllSessionsByPattern pattern: `{}` matches every session; `lsid` one session; `uid` the
 * sessions of the user with that digest; `users`/`roles` the sessions of those authenticated users,
 * which without authentication is none.
 */
function patternMatcher(pattern: unknown): (lsid: Document) => boolean {
  if (typeof pattern !== 'object' || pattern === null || Array.isArray(pattern))
    throw CommandError.of('TypeMismatch', 'a killAllSessionsByPattern pattern must be an object');
  const p = pattern as Document;
  const key = p.lsid !== undefined ? sessionKey(p.lsid) : null;
  const noUser =
    (p.uid !== undefined && !isNoAuthUid(p.uid)) ||
    (Array.isArray(p.users) && p.users.length > 0) ||
    (Array.isArray(p.roles) && p.roles.length > 0);
  return (lsid) => !noUser && (key === null || sessionKey(lsid) === key);
}

/**
 * Aborts the named sessions' transactions and releases their locks; `[]` kills every session (the
 * user's own, and without authentication that is all). Reply `{ok: 1}` as mongod.
 */
const killSessions: CommandHandler = (ctx) => {
  const keys = new Set(listOf(ctx, 'killSessions').map((lsid) => sessionKey(lsid)));
  ctx.server.sessions.kill((lsid) => keys.size === 0 || keys.has(sessionKey(lsid)));
  return {};
};

/** `[]` kills every session; a list of `{user, db}` those users' sessions (none without auth). */
const killAllSessions: CommandHandler = (ctx) => {
  const users = listOf(ctx, 'killAllSessions');
  if (users.length === 0) ctx.server.sessions.kill(() => true);
  return {};
};

/** `[]` kills every session; otherwise the sessions any pattern matches. */
const killAllSessionsByPattern: CommandHandler = (ctx) => {
  const patterns = listOf(ctx, 'killAllSessionsByPattern').map(patternMatcher);
  ctx.server.sessions.kill((lsid) => patterns.length === 0 || patterns.some((m) => m(lsid)));
  return {};
};

/** The server parameters we honour (mongod names). */
const PARAMETERS: Record<
  string,
  { get: (ctx: CommandContext) => unknown; set: (ctx: CommandContext, v: unknown) => void }
> = {
  transactionLifetimeLimitSeconds: {
    get: (ctx) => ctx.server.sessions.transactionLifetimeMs / 1000,
    set: (ctx, v) => {
      const secs = Number(v);
      if (!Number.isFinite(secs) || secs < 1)
        throw CommandError.of('BadValue', 'transactionLifetimeLimitSeconds must be >= 1');
      ctx.server.sessions.transactionLifetimeMs = secs * 1000;
    },
  },
};

const COMMAND_FIELDS = new Set([
  'getParameter',
  'setParameter',
  '$db',
  'lsid',
  '$clusterTime',
  '$readPreference',
  'comment',
  'apiVersion',
]);

const getParameter: CommandHandler = (ctx) => {
  const all = ctx.cmd.getParameter === '*';
  const names = all
    ? Object.keys(PARAMETERS)
    : Object.keys(ctx.cmd).filter((k) => !COMMAND_FIELDS.has(k));
  const reply: Document = {};
  for (const name of names) {
    const param = PARAMETERS[name];
    if (!param) throw CommandError.of('InvalidOptions', `no option found to get: ${name}`);
    reply[name] = param.get(ctx);
  }
  return reply;
};

const setParameter: CommandHandler = (ctx) => {
  const names = Object.keys(ctx.cmd).filter((k) => !COMMAND_FIELDS.has(k));
  if (names.length === 0)
    throw CommandError.of('BadValue', 'no option found to set, use help:true to see options');
  const reply: Document = {};
  for (const name of names) {
    const param = PARAMETERS[name];
    if (!param)
      throw CommandError.of(
        'BadValue',
        `attempted to set unrecognized parameter [${name}], use help:true to see options`,
      );
    reply.was = param.get(ctx);
    param.set(ctx, ctx.cmd[name]);
  }
  return reply;
};

export const adminCommands: Record<string, CommandHandler> = {
  hello: helloReply,
  isMaster: helloReply,
  ismaster: helloReply,
  ping: () => ({}),
  buildInfo,
  buildinfo: buildInfo,
  endSessions,
  killSessions,
  killAllSessions,
  killAllSessionsByPattern,
  getParameter,
  setParameter,
};
