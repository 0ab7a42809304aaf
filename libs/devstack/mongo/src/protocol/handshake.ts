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
/**
 * The MongoDB versions the server can present (drivers v6.0 accept wire versions 6–21, v6.21 8–27,
 * v7 9–29): 8.0 (default) with the `bulkWrite` command and update `sort`, or 7.0 without them, so
 * a client's fallback for older servers can be tested (`maxWireVersion` option).
 */
export const WIRE_VERSIONS = { '7.0': 21, '8.0': 25 } as const;
export type WireVersion = (typeof WIRE_VERSIONS)[keyof typeof WIRE_VERSIONS];
export const DEFAULT_WIRE_VERSION: WireVersion = WIRE_VERSIONS['8.0'];

/** The `version` string of buildInfo for a wire version. */
export function serverVersion(maxWireVersion: WireVersion): string {
  return maxWireVersion === WIRE_VERSIONS['8.0'] ? '8.0.0' : '7.0.0';
}

/** Whether the server presents MongoDB 8.0 (bulkWrite, update `sort`). */
export function speaks80(ctx: Pick<CommandContext, 'server'>): boolean {
  return ctx.server.maxWireVersion >= WIRE_VERSIONS['8.0'];
}

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
    maxWireVersion: server.maxWireVersion,
    readOnly: false,
  });
  return reply;
}
