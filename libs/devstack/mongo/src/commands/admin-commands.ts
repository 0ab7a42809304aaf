/** Server-level commands: handshake, ping, buildInfo, endSessions. */
import type { Document } from 'bson';
import { CommandError } from '../errors';
import { MAX_WIRE_VERSION, SERVER_VERSION, helloReply } from '../protocol/handshake';
import type { CommandContext, CommandHandler } from './context';

const buildInfo: CommandHandler = () => ({
  version: SERVER_VERSION,
  gitVersion: 'trellis-devstack',
  versionArray: SERVER_VERSION.split('.').map(Number).concat([0]),
  bits: 64,
  debug: false,
  maxBsonObjectSize: 16 * 1024 * 1024,
  storageEngines: ['devstack'],
  modules: [],
  maxWireVersion: MAX_WIRE_VERSION,
});

const endSessions: CommandHandler = (ctx) => {
  const ids: unknown = ctx.cmd.endSessions;
  if (Array.isArray(ids)) for (const lsid of ids) ctx.server.sessions.end(lsid);
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
  getParameter,
  setParameter,
};
