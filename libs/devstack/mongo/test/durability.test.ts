/**
 * Journal durability. This needs the devstack server itself (a real MongoDB cannot be SIGKILLed from
 * here), so the suite is only defined when MONGODB_URI is unset: against a real replica set there is
 * nothing of ours to test.
 */
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type MongoClient, type ObjectId } from 'mongodb';
import { startChildServer } from './support/child-server';
import { connect, usingDevstack, waitFor } from './support/target';

type Id = ObjectId;

if (usingDevstack) {
  describe('journal (devstack only)', () => {
    let dataDir: string;
    beforeAll(() => {
      dataDir = mkdtempSync(join(tmpdir(), 'devstack-mongo-journal-'));
    });
    afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

    it('a journaled server killed with SIGKILL and restarted keeps every acknowledged write', async () => {
      const first = await startChildServer({ DEVSTACK_MONGO_DATA_DIR: dataDir });
      let client: MongoClient | null = await connect(first.uri, {
        retryWrites: false,
        maxPoolSize: 20,
      });
      const db = client.db('durable');
      await db.collection('docs').createIndex({ email: 1 }, { unique: true });
      await db.collection('counter').insertOne({ _id: 'c' as unknown as Id, n: 0 });
      await db.collection('money').insertOne({ _id: 'm' as unknown as Id, units: 123n });

      const acknowledgedInserts: string[] = [];
      const acknowledgedTxns: number[] = [];
      let acknowledgedIncrements = 0;
      let stop = false;
      const writers = Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; !stop; i++) {
          const id = `w${w}-${i}`;
          try {
            await db
              .collection('docs')
              .insertOne({ _id: id as unknown as Id, email: `${id}@x`, payload: 'p'.repeat(200) });
            acknowledgedInserts.push(id);
          } catch {
            return;
          }
        }
      });
      const counter = (async () => {
        while (!stop) {
          try {
            await db
              .collection('counter')
              .updateOne({ _id: 'c' as unknown as Id }, { $inc: { n: 1 } });
            acknowledgedIncrements++;
          } catch {
            return;
          }
        }
      })();
      const transfers = (async () => {
        for (let t = 0; !stop; t++) {
          const session = client!.startSession();
          try {
            await session.withTransaction(async () => {
              await db
                .collection('ledger')
                .insertOne({ _id: `t${t}-debit` as unknown as Id, t }, { session });
              await db
                .collection('ledger')
                .insertOne({ _id: `t${t}-credit` as unknown as Id, t }, { session });
            });
            acknowledgedTxns.push(t);
          } catch {
            return;
          } finally {
            await session.endSession().catch(() => undefined);
          }
        }
      })();

      // Kill while writes are in flight, once a good number were acknowledged.
      await waitFor(
        '1500 acknowledged inserts and 50 committed transactions',
        () => acknowledgedInserts.length >= 1500 && acknowledgedTxns.length >= 50,
        30_000,
        10,
      );
      first.process.kill('SIGKILL');
      await first.exited;
      stop = true;
      await Promise.all([...writers, counter, transfers]);
      await client.close(true).catch(() => undefined);
      client = null;

      // A torn record at the tail (a write cut short by the crash) must be ignored on restart.
      appendFileSync(join(dataDir, 'journal.bin'), Buffer.from([0x40, 0, 0, 0, 1, 2, 3]));

      const second = await startChildServer({ DEVSTACK_MONGO_DATA_DIR: dataDir });
      const again = await connect(second.uri, { useBigInt64: true });
      try {
        const d = again.db('durable');
        const present = new Set(
          (
            await d
              .collection('docs')
              .find({}, { projection: { _id: 1 } })
              .toArray()
          ).map((x) => String(x._id)),
        );
        const lost = acknowledgedInserts.filter((id) => !present.has(id));
        expect(lost).toEqual([]);
        const ledger = new Set(
          (await d.collection('ledger').find({}).toArray()).map((x) => String(x._id)),
        );
        for (const t of acknowledgedTxns) {
          expect(ledger.has(`t${t}-debit`)).toBe(true);
          expect(ledger.has(`t${t}-credit`)).toBe(true);
        }
        // Transactions are all-or-nothing even at the crash point.
        const byT = new Map<number, number>();
        for (const x of await d.collection('ledger').find({}).toArray())
          byT.set(x.t as number, (byT.get(x.t as number) ?? 0) + 1);
        expect([...byT.values()].every((n) => n === 2)).toBe(true);
        // Int64-ness survives the journal too.
        expect((await d.collection('money').findOne({ _id: 'm' as unknown as Id }))?.units).toBe(
          123n,
        );
        const n = (await d.collection('counter').findOne({ _id: 'c' as unknown as Id }))
          ?.n as number;
        expect(n).toBeGreaterThanOrEqual(acknowledgedIncrements);
        expect(n).toBeLessThanOrEqual(acknowledgedIncrements + 1);
        // The unique index survived too.
        await expect(
          d.collection('docs').insertOne({ email: `${acknowledgedInserts[0]}@x` }),
        ).rejects.toMatchObject({ code: 11000 });
      } finally {
        await again.close();
        second.process.kill('SIGTERM');
        await second.exited;
      }
    }, 60_000);
  });
}
