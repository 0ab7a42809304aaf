/**
 * Protocol-level behaviour with hand-built frames: legacy OP_QUERY handshake, OP_MSG flag bits,
 * checksums, kind-1 document sequences, and what happens to broken frames.
 */
import { type Document, Long } from 'bson';
import { crc32c, hostPort, opMsg, opQuery, RawConnection } from './support/raw-wire';
import { startTarget, type Target, uniqueDbName, usingDevstack } from './support/target';

let target: Target;
let address: { host: string; port: number };
const open: RawConnection[] = [];

beforeAll(async () => {
  target = await startTarget();
  address = hostPort(target.uri);
});

afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

afterAll(async () => {
  await target?.stop();
});

async function raw(): Promise<RawConnection> {
  const c = await RawConnection.open(address.host, address.port);
  open.push(c);
  return c;
}

it('crc32c helper matches the standard check value', () => {
  expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
});

it('answers the legacy OP_QUERY ismaster handshake with OP_REPLY', async () => {
  const c = await raw();
  const { id, frame } = opQuery('admin.$cmd', {
    ismaster: 1,
    helloOk: true,
    client: { driver: { name: 'raw' } },
    compression: ['none'],
  });
  c.send(frame);
  const reply = await c.reply();
  expect(reply.opCode).toBe(1);
  expect(reply.responseTo).toBe(id);
  expect(reply.doc).toMatchObject({
    ok: 1,
    ismaster: true,
    helloOk: true,
    secondary: false,
    setVersion: 1,
  });
  expect(reply.doc.maxWireVersion).toBeGreaterThanOrEqual(21);
  if (target.devstack) {
    // Checklist §2.1: no topologyVersion (would switch the monitor to streaming) and no compression.
    expect(reply.doc.topologyVersion).toBeUndefined();
    expect(reply.doc.compression).toBeUndefined();
    expect(reply.doc.maxWireVersion).toBe(25); // MongoDB 8.0 (option maxWireVersion: 21 for 7.0)
    expect(reply.doc.minWireVersion).toBe(0);
  }
  // Then OP_MSG on the same connection.
  const hello = await c.command({ hello: 1, $db: 'admin' });
  expect(hello.opCode).toBe(2013);
  expect(hello.doc).toMatchObject({ ok: 1, isWritablePrimary: true });
});

it('merges kind-1 document sequences into the command', async () => {
  const c = await raw();
  const db = uniqueDbName('wire-seq');
  const ins = await c.command(
    { insert: 'c', $db: db },
    {
      sequences: {
        documents: [
          { _id: 1, a: 1 },
          { _id: 2, a: 2 },
        ],
      },
    },
  );
  expect(ins.doc).toMatchObject({ ok: 1, n: 2 });
  const upd = await c.command(
    { update: 'c', $db: db },
    { sequences: { updates: [{ q: { _id: 1 }, u: { $set: { b: 1 } } }] } },
  );
  expect(upd.doc).toMatchObject({ ok: 1, n: 1, nModified: 1 });
  const found = await c.command({ find: 'c', filter: {}, sort: { _id: 1 }, $db: db });
  expect((found.doc.cursor as Document).firstBatch).toEqual([
    { _id: 1, a: 1, b: 1 },
    { _id: 2, a: 2 },
  ]);
  const del = await c.command(
    { delete: 'c', $db: db },
    { sequences: { deletes: [{ q: {}, limit: 0 }] } },
  );
  expect(del.doc).toMatchObject({ ok: 1, n: 2 });
  await c.command({ dropDatabase: 1, $db: db });
});

it('cursor ids are Int64 and errors carry code and codeName', async () => {
  const c = await raw();
  const db = uniqueDbName('wire-types');
  await c.command({ insert: 'c', documents: [{ a: 1 }, { a: 2 }, { a: 3 }], $db: db });
  const { id, frame } = opMsg({ find: 'c', batchSize: 1, $db: db });
  c.send(frame);
  const reply = await c.reply();
  expect(reply.responseTo).toBe(id);
  const cursorId = (reply.doc.cursor as Document).id;
  expect(cursorId).toBeInstanceOf(Long);
  const err = await c.command({ frobnicate: 1, $db: db });
  expect(err.doc).toMatchObject({ ok: 0, code: 59, codeName: 'CommandNotFound' });
  await c.command({ dropDatabase: 1, $db: db });
});

it('accepts a correct checksum; moreToCome gets no reply', async () => {
  const c = await raw();
  const db = uniqueDbName('wire-flags');
  const ok = await c.command({ ping: 1, $db: 'admin' }, { checksum: 'good' });
  expect(ok.doc.ok).toBe(1);
  // w:0 insert with moreToCome: no reply; the next reply belongs to the ping after it.
  c.send(
    opMsg(
      { insert: 'c', documents: [{ x: 1 }], writeConcern: { w: 0 }, $db: db },
      { moreToCome: true },
    ).frame,
  );
  const ping = await c.command({ ping: 1, $db: 'admin' });
  expect(ping.doc.ok).toBe(1);
  const count = await c.command({ count: 'c', $db: db });
  expect(count.doc.n).toBe(1);
  await c.command({ dropDatabase: 1, $db: db });
});

// What a server does with a broken frame is not specified by the wire protocol (mongod answers some
// with an error reply, closes on others); closing just that connection, with a logged reason, is the
// devstack's contract, so these cases are only defined against the devstack server.
if (usingDevstack) {
  describe('broken frames close only their own connection', () => {
    const cases: Array<[string, () => Buffer]> = [
      ['a length below the header size', () => Buffer.from([8, 0, 0, 0, 0, 0, 0, 0])],
      [
        'a length above maxMessageSizeBytes (48 MB)',
        () => {
          const h = Buffer.alloc(16);
          h.writeInt32LE(48_000_001, 0);
          h.writeInt32LE(1, 4);
          h.writeInt32LE(2013, 12);
          return h;
        },
      ],
      [
        'invalid BSON in a section',
        () => {
          const { frame } = opMsg({ ping: 1, $db: 'admin' });
          frame.writeInt32LE(9999, 21); // document length now points past the frame
          return frame;
        },
      ],
      ['a wrong checksum', () => opMsg({ ping: 1, $db: 'admin' }, { checksum: 'bad' }).frame],
      [
        'an unknown opCode',
        () => {
          const h = Buffer.alloc(20);
          h.writeInt32LE(20, 0);
          h.writeInt32LE(7, 4);
          h.writeInt32LE(9999, 12);
          return h;
        },
      ],
    ];
    it.each(cases)('%s', async (_label, build) => {
      const bystander = await raw();
      const victim = await raw();
      expect((await bystander.command({ ping: 1, $db: 'admin' })).doc.ok).toBe(1);
      victim.send(build());
      await victim.waitClosed();
      expect((await bystander.command({ ping: 1, $db: 'admin' })).doc.ok).toBe(1);
      const fresh = await raw();
      expect((await fresh.command({ ping: 1, $db: 'admin' })).doc.ok).toBe(1);
    });
  });
}
