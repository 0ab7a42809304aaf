import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { accountV1, decodeEventEnvelope, topics, unpackEvent } from '@trellis/contracts';
import { Kafka, logLevel } from 'kafkajs';
import { type Channel, type Client, createChannel, createClient } from 'nice-grpc';
import { startServiceProcess, type ServiceProcess } from './service-process';
import { waitFor } from './wait-for';

export interface AccountCrashDrillOptions {
  mongoUri: string;
  brokers: string[];
  /** The account-service's database (fresh per drill). */
  database: string;
  /** Concurrent transfer loops on the hot accounts. */
  inFlight: number;
}

/** What the database and Kafka say after the drill. */
export interface CrashVerdict {
  /** Money transactions (deposits, transfers) committed, from the ledger. */
  committed: number;
  /** Committed transactions without an event in Kafka. */
  lost: number;
  /** Committed transactions with more than one distinct event (by event id). */
  doubled: number;
  /** Extra copies of an event id in Kafka (at-least-once relay; consumers dedupe). */
  redelivered: number;
  /** Accounts whose balance differs from the sum of their ledger entries. */
  unbalanced: number;
}

const SERVICE_MAIN = 'apps/account-service/src/main.ts';

/**
 * The account-service in a child process under `inFlight` transfer loops between two hot accounts,
 * killed with SIGKILL and restarted on the same MongoDB and Kafka. Used by the crash test
 * (e2e/test/crash-recovery.test.ts) and the crash bench (bench/crash/run.ts).
 */
export class AccountCrashDrill {
  private service!: ServiceProcess;
  private channel!: Channel;
  private accounts!: Client<typeof accountV1.AccountServiceDefinition>;
  private hot: [string, string] = ['', ''];
  private loops: Array<Promise<void>> = [];
  private running = false;
  /** Replies OK so far. */
  ok = 0;
  private killedAt = 0;
  private firstOkAfterKill = 0;

  private readonly mongo: MongoClient;

  private constructor(private readonly options: AccountCrashDrillOptions) {
    this.mongo = new MongoClient(options.mongoUri, { useBigInt64: true });
  }

  static async start(options: AccountCrashDrillOptions): Promise<AccountCrashDrill> {
    const drill = new AccountCrashDrill(options);
    await drill.mongo.connect();
    await drill.launch();
    const accounts = drill.accounts;
    const open = async (name: string) => {
      const { account } = await accounts.openAccount({
        ownerName: name,
        email: `${name.toLowerCase()}@example.com`,
        currencyCode: 'EUR',
      });
      await accounts.deposit({
        accountId: account!.id,
        amount: { currencyCode: 'EUR', units: 1_000_000n },
        idempotencyKey: randomUUID(),
      });
      return account!.id;
    };
    drill.hot = [await open('Hot'), await open('Cold')];
    return drill;
  }

  /** Starts the transfer loops; each pauses briefly after a failure (the service may be down). */
  startLoad(): void {
    this.running = true;
    this.loops = Array.from({ length: this.options.inFlight }, async (_, i) => {
      while (this.running) {
        if (!(await this.transfer(i % 2 === 0, 30_000)))
          await new Promise((resolve) => setTimeout(resolve, 50));
      }
    });
  }

  async stopLoad(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** One transfer between the hot accounts; true when it committed and was acknowledged. */
  async transfer(forward = true, deadlineMs = 2_000): Promise<boolean> {
    const [from, to] = forward ? this.hot : [this.hot[1], this.hot[0]];
    try {
      await this.accounts.transfer(
        {
          fromAccountId: from,
          toAccountId: to,
          amount: { currencyCode: 'EUR', units: 1n },
          idempotencyKey: randomUUID(),
          reference: 'crash drill',
        },
        { signal: AbortSignal.timeout(deadlineMs) },
      );
    } catch {
      return false;
    }
    this.ok++;
    if (this.killedAt && !this.firstOkAfterKill) this.firstOkAfterKill = Date.now();
    return true;
  }

  /**
   * SIGKILL once `progress` more transfers have committed, at a moment when one of the service's
   * transactions holds the hot accounts: the process is frozen (SIGSTOP) until a probe finds them
   * write-locked, so every kill leaves the worst case behind, an open transaction on them.
   */
  async kill(progress = 20): Promise<number> {
    const target = this.ok + progress;
    await waitFor(() => this.ok >= target, { timeoutMs: 60_000, what: 'transfers to flow' });
    const child = this.service.process;
    await waitFor(
      async () => {
        child.kill('SIGSTOP');
        if (await this.hotAccountsLocked()) return true;
        child.kill('SIGCONT');
        return false;
      },
      { timeoutMs: 60_000, intervalMs: 3, what: 'a transaction holding the hot accounts' },
    );
    this.killedAt = Date.now();
    this.firstOkAfterKill = 0;
    await this.service.kill();
    return this.killedAt;
  }

  /**
   * Deletes the service's session records (platform-mongo SessionOwners), so that a restarted
   * instance cannot kill its predecessor's sessions: what is left is MongoDB's own
   * transactionLifetimeLimitSeconds (the bench compares the two).
   */
  async forgetSessionOwners(): Promise<void> {
    await this.mongo.db(this.options.database).collection('session_owners').deleteMany({});
  }

  /** True when another transaction holds the hot account (a write to it is a WriteConflict). */
  private async hotAccountsLocked(): Promise<boolean> {
    const session = this.mongo.startSession();
    try {
      session.startTransaction();
      await this.mongo
        .db(this.options.database)
        .collection<{ _id: string }>('accounts')
        .updateOne({ _id: this.hot[0] }, { $set: { crash_probe: true } }, { session });
      return false;
    } catch (err) {
      return (err as { code?: unknown }).code === 112;
    } finally {
      await session.abortTransaction().catch(() => undefined);
      await session.endSession();
    }
  }

  /** Starts a new process on the same database; resolves with the time it listens. */
  async restart(): Promise<number> {
    await this.launch();
    return Date.now();
  }

  /** Resolves with the time of the first acknowledged transfer after the last kill. */
  async firstSuccessAfterKill(timeoutMs: number): Promise<number> {
    return await waitFor(() => this.firstOkAfterKill, {
      timeoutMs,
      what: 'a transfer on the hot accounts after the kill',
    });
  }

  async verify(timeoutMs = 30_000): Promise<CrashVerdict> {
    const db = this.mongo.db(this.options.database);
    const entries = await db
      .collection<{
        transaction_id: string;
        account_id: string;
        direction: string;
        amount: bigint;
      }>('ledger_entries')
      .find({})
      .toArray();
    const transactions = new Set(entries.map((e) => e.transaction_id));
    const sums = new Map<string, bigint>();
    for (const e of entries)
      sums.set(
        e.account_id,
        (sums.get(e.account_id) ?? 0n) + (e.direction === 'CREDIT' ? e.amount : -e.amount),
      );
    let unbalanced = 0;
    for (const name of ['accounts', 'external_accounts']) {
      const docs = await db.collection<{ _id: string; balance: bigint }>(name).find({}).toArray();
      for (const doc of docs) if (BigInt(doc.balance) !== (sums.get(doc._id) ?? 0n)) unbalanced++;
    }
    const events = await this.readEvents(transactions, timeoutMs);
    let lost = 0;
    let doubled = 0;
    for (const id of transactions) {
      const count = events.byTransaction.get(id)?.size ?? 0;
      if (count === 0) lost++;
      if (count > 1) doubled++;
    }
    return {
      committed: transactions.size,
      lost,
      doubled,
      redelivered: events.redelivered,
      unbalanced,
    };
  }

  async stop(): Promise<void> {
    this.running = false;
    this.channel.close();
    await this.service.stop();
    await Promise.all(this.loops);
    await this.mongo.close();
  }

  /** Service log lines so far (for a failure message). */
  output(): string {
    return this.service.output();
  }

  private async launch(): Promise<void> {
    this.service = await startServiceProcess(SERVICE_MAIN, {
      MONGODB_URI: this.options.mongoUri,
      MONGODB_DATABASE: this.options.database,
      KAFKA_BROKERS: this.options.brokers.join(','),
    });
    const previous = this.channel as Channel | undefined;
    this.channel = createChannel(this.service.address);
    this.accounts = createClient(accountV1.AccountServiceDefinition, this.channel);
    previous?.close();
  }

  /** Reads account events until every committed transaction has one (or `timeoutMs`). */
  private async readEvents(
    transactions: Set<string>,
    timeoutMs: number,
  ): Promise<{ byTransaction: Map<string, Set<string>>; redelivered: number }> {
    const kafka = new Kafka({
      brokers: this.options.brokers,
      clientId: 'crash-drill',
      logLevel: logLevel.NOTHING,
    });
    const consumer = kafka.consumer({
      groupId: `crash-drill-${randomUUID()}`,
      sessionTimeout: 6000,
      heartbeatInterval: 500,
      maxWaitTimeInMs: 100,
    });
    const byTransaction = new Map<string, Set<string>>();
    let messages = 0;
    const eventIds = new Set<string>();
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: topics.accountEvents, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          if (!message.value) return;
          const envelope = decodeEventEnvelope(message.value);
          messages++;
          eventIds.add(envelope.eventId);
          const { payload } = unpackEvent(envelope);
          const transactionId = (payload as { transactionId?: unknown }).transactionId;
          if (typeof transactionId !== 'string') return;
          const ids = byTransaction.get(transactionId) ?? new Set<string>();
          ids.add(envelope.eventId);
          byTransaction.set(transactionId, ids);
        },
      });
      await waitFor(() => [...transactions].every((id) => byTransaction.has(id)), {
        timeoutMs,
        what: 'an event for every committed transaction',
      }).catch(() => undefined); // the verdict counts what is missing
    } finally {
      await consumer.disconnect();
    }
    return { byTransaction, redelivered: messages - eventIds.size };
  }
}
