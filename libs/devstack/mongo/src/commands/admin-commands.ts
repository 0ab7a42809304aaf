/** Server-level commands: handshake, ping, buildInfo, endSessions. */
import { MAX_WIRE_VERSION, SERVER_VERSION, helloReply } from '../protocol/handshake';
import type { CommandHandler } from './context';

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

export const adminCommands: Record<string, CommandHandler> = {
  hello: helloReply,
  isMaster: helloReply,
  ismaster: helloReply,
  ping: () => ({}),
  buildInfo,
  buildinfo: buildInfo,
  endSessions,
};
