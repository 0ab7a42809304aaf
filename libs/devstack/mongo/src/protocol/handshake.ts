/**
 * hello / isMaster / ismaster: we present a single-member replica-set primary, so the driver allows
 * sessions, retryable writes and transactions with `?replicaSet=rs0` and with `directConnection=true`.
 * Field by field this follows the checklist in wire-protocols.md §2.1 (mongodb driver
 * `src/sdam/server_description.ts`, `src/sdam/monitor.ts`, `src/cmap/connect.ts`).
 *
 * `topologyVersion` is deliberately absent: with it the driver's monitor switches to streaming
 * (awaitable) hello and fails on a plain reply. `compression` is absent too, so no OP_COMPRESSED.
 */
import type { Document } from 'bson';
import { MAX_MESSAGE_SIZE } from '../wire/frame-reader';
import type { CommandContext } from '../commands/context';

export const HELLO_COMMANDS = new Set(['hello', 'isMaster', 'ismaster']);
/** MongoDB 7.0. Drivers v6.0 accept 6–21, v6.21 8–27, v7 9–29. */
export const MAX_WIRE_VERSION = 21;
export const SERVER_VERSION = '7.0.0';

export function helloReply(ctx: CommandContext): Document {
  const { server, conn } = ctx;
  const reply: Document = {};
  if (ctx.name === 'hello') reply.isWritablePrimary = true;
  else reply.ismaster = true;
  if (ctx.cmd.helloOk === true) reply.helloOk = true;
  Object.assign(reply, {
    secondary: false,
    setName: server.setName,
    setVersion: 1,
    electionId: server.electionId,
    hosts: [server.hostPort],
    primary: server.hostPort,
    me: server.hostPort,
    maxBsonObjectSize: 16 * 1024 * 1024,
    maxMessageSizeBytes: MAX_MESSAGE_SIZE,
    maxWriteBatchSize: 100_000,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: 30,
    connectionId: conn.id,
    minWireVersion: 0,
    maxWireVersion: MAX_WIRE_VERSION,
    readOnly: false,
  });
  return reply;
}
