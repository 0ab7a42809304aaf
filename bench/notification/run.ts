/**
 * notification-service delivery throughput and latency. Prints figures and ratios; asserts nothing.
 *
 *   npx tsx bench/notification/run.ts      (BENCH_EMAILS, default 5000; BENCH_LATENCY_SECONDS, default 10)
 *
 * 1. Baselines: nodemailer with the same pooled SMTP transport settings sending straight to the
 *    sink (no service, no MongoDB, no Kafka) — the ceiling of the SMTP leg alone; and the devstack
 *    MongoDB's rate for what SendEmail writes per mail (a notification + an outbox document, 100
 *    of each per transaction, 4 transactions in flight) — the ceiling of the enqueue leg.
 * 2. Throughput: SendEmail calls of 100 recipients each (one mail per recipient), as fast as the
 *    service accepts them; emails/s from the first call to the sink having accepted the last mail.
 * 3. Latency: one-recipient SendEmail calls paced at 200 emails/s; per mail, the time from the
 *    call to the sink's acceptance (p50/p99).
 *
 * 4. Deliverability costs, in the same run: the throughput of phase 2 (BENCH_DELIVERABILITY_EMAILS,
 *    default 3000, to 20 recipient domains) with the send limits on but set far above the rate
 *    (1,000,000/s, so they never wait: what is measured is their bookkeeping), first per process
 *    (SendThrottle), then shared in MongoDB (SHARED_LIMITER_ENABLED, three MongoDB round trips per
 *    mail), then per process with DKIM signing (RSA 2048), interleaved local/shared/DKIM twice;
 *    prints emails/s and the ratios shared/local and DKIM/local.
 *
 * Rate limits are configured high (off) in phases 2-3 so the pipeline itself is measured; DELIVERY_CONCURRENCY
 * (default here 1000) and SMTP_POOL_MAX_CONNECTIONS (default here 40) can be overridden. The service runs in
 * this process; MongoDB + Kafka run in one child process and the SMTP sink in another. Each phase
 * gets a fresh database, so the latency phase does not start behind the throughput phase's work.
 */
import type { ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import nodemailer from 'nodemailer';
import { notificationV1 } from '@trellis/contracts';
import { startNotificationService } from '@trellis/notification-service';
import { createGrpcClient } from '@trellis/platform/grpc';
import { createLogger } from '@trellis/platform/logging';
import { loadServiceConfig } from '@trellis/notification-service/config';
import { spawnDevstack } from '../support/spawn-devstack';
import { percentile } from '../support/percentile';

const EMAILS = Number(process.env.BENCH_EMAILS ?? 5_000);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 10);
const BATCH = 100;
/** SendEmail calls in flight during the throughput phase. */
const CALLERS = Number(process.env.BENCH_CALLERS ?? 8);
const POOL = Number(process.env.SMTP_POOL_MAX_CONNECTIONS ?? 40);
const DELIVERABILITY_EMAILS = Number(process.env.BENCH_DELIVERABILITY_EMAILS ?? 3_000);

async function child<T>(
  kind: 'infra' | 'sink',
  env: Record<string, string> = {},
): Promise<{ info: T; proc: ChildProcess }> {
  const started = await spawnDevstack(kind, [], env);
  return { info: started.info as T, proc: started.process };
}

interface SinkApi {
  total(): Promise<number>;
  all(): Promise<Array<{ envelope: { to: string[] }; receivedAt: string; subject: string }>>;
  clear(): Promise<void>;
}

function sinkApi(httpUrl: string): SinkApi {
  return {
    async total() {
      const r = (await (await fetch(`${httpUrl}/api/messages?limit=0`)).json()) as {
        total: number;
      };
      return r.total;
    },
    async all() {
      const r = (await (await fetch(`${httpUrl}/api/messages`)).json()) as {
        messages: Array<{ envelope: { to: string[] }; receivedAt: string; subject: string }>;
      };
      return r.messages;
    },
    async clear() {
      await fetch(`${httpUrl}/api/messages`, { method: 'DELETE' });
    },
  };
}

async function waitForTotal(sink: SinkApi, n: number, timeoutMs = 300_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await sink.total()) >= n) return Date.now();
    if (Date.now() > deadline) throw new Error(`sink has ${await sink.total()} of ${n} mails`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * SendEmail calls of BATCH recipients (spread over `domains` recipient domains), CALLERS in
 * flight; emails/s from the first call to the sink having accepted the last mail.
 */
async function throughputOf(
  sink: SinkApi,
  client: notificationV1.NotificationServiceClient,
  emails: number,
  tag: string,
  domains: number,
): Promise<{ sent: number; throughput: number; enqueueRate: number }> {
  const calls = Math.ceil(emails / BATCH);
  const s0 = Date.now();
  let enqueueDone = 0;
  let c = 0;
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (c < calls) {
        const k = c++;
        await client.sendEmail({
          to: Array.from(
            { length: BATCH },
            (_, j) => `r${k * BATCH + j}@d${(k * BATCH + j) % domains}.${tag}.test`,
          ),
          inline: {
            subject: 'throughput',
            textBody: 'Hello from the bench',
            htmlBody: '<p>Hello</p>',
          },
          idempotencyKey: `${tag}-${k}`,
        });
      }
      enqueueDone = Date.now();
    }),
  );
  const sent = calls * BATCH;
  const s1 = await waitForTotal(sink, sent);
  return {
    sent,
    throughput: (sent * 1000) / (s1 - s0),
    enqueueRate: (sent * 1000) / (enqueueDone - s0),
  };
}

async function main(): Promise<void> {
  const infra = await child<{ mongoUri: string; brokers: string[] }>('infra');
  // The DKIM key of phase 4, published to the sink (which verifies every signature) without DNS:
  // a look-up per mail against real DNS would measure the resolver, not the signing.
  const dkimKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const sinkChild = await child<{ smtpUrl: string; httpUrl: string }>('sink', {
    BENCH_SINK_DKIM_RECORDS: JSON.stringify({
      'bench._domainkey.trellis.dev': `v=DKIM1; k=rsa; p=${dkimKeys.publicKey
        .export({ type: 'spki', format: 'der' })
        .toString('base64')}`,
    }),
  });
  const sink = sinkApi(sinkChild.info.httpUrl);
  const results: string[] = [];
  try {
    // 1. Baseline: nodemailer straight to the sink.
    const transport = nodemailer.createTransport({
      url: sinkChild.info.smtpUrl,
      pool: true,
      maxConnections: POOL,
      maxMessages: Infinity,
    });
    const t0 = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: POOL * 4 }, async () => {
        while (next < EMAILS) {
          const i = next++;
          await transport.sendMail({
            from: 'bench@trellis.dev',
            to: `b${i}@base.test`,
            subject: 'baseline',
            text: `Hello ${i}`,
          });
        }
      }),
    );
    await waitForTotal(sink, EMAILS);
    const baseline = (EMAILS * 1000) / (Date.now() - t0);
    transport.close();
    await sink.clear();

    // Baseline 2: transactional inserts into the same MongoDB, shaped like SendEmail's writes.
    const mongo = new MongoClient(infra.info.mongoUri);
    await mongo.connect();
    const scratch = mongo.db(`bench_scratch_${randomUUID().slice(0, 8)}`);
    await scratch.collection('n').createIndexes([
      { key: { dedupeKey: 1 }, name: 'dedupe', unique: true },
      { key: { createdAt: -1, _id: -1 }, name: 'newest' },
      { key: { recipient: 1, createdAt: -1 }, name: 'recipient' },
      { key: { state: 1, createdAt: -1 }, name: 'state' },
      { key: { campaignId: 1, state: 1 }, name: 'campaign' },
    ]);
    await scratch.collection('o').createIndex({ published_at: 1, _id: 1 });
    const mongoTx = Math.ceil(EMAILS / 100);
    const m0 = Date.now();
    let mk = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (mk < mongoTx) {
          const k = mk++;
          const session = mongo.startSession();
          await session.withTransaction(async () => {
            const now = new Date();
            await scratch.collection('n').insertMany(
              Array.from({ length: 100 }, (_, i) => ({
                _id: `${k}-${i}` as never,
                recipient: `r${k}-${i}@x.test`,
                state: 'QUEUED',
                dedupeKey: `k${k}-${i}`,
                campaignId: '',
                createdAt: now,
              })),
              { session },
            );
            await scratch.collection('o').insertMany(
              Array.from({ length: 100 }, () => ({
                value: Buffer.alloc(200),
                published_at: null,
                created_at: now,
              })),
              { session },
            );
          });
          await session.endSession();
        }
      }),
    );
    const mongoRate = (mongoTx * 100 * 1000) / (Date.now() - m0);
    await scratch.dropDatabase();
    await mongo.close();

    // The service, with limits off; a fresh database per phase (see the header).
    const startBench = async (env: Record<string, string> = {}) => {
      const config = loadServiceConfig({
        GRPC_HOST: '127.0.0.1',
        GRPC_PORT: '0',
        METRICS_PORT: '0',
        MONGODB_URI: infra.info.mongoUri,
        MONGODB_DATABASE: `bench_notification_${randomUUID().slice(0, 8)}`,
        KAFKA_BROKERS: infra.info.brokers.join(','),
        SMTP_URL: sinkChild.info.smtpUrl,
        SMTP_POOL_MAX_CONNECTIONS: String(POOL),
        TRACING_ENABLED: 'false',
        LOG_LEVEL: 'warn',
        SEND_RATE_PER_SECOND: '0',
        DOMAIN_RATE_PER_SECOND: '0',
        CALLER_RATE_PER_SECOND: '0',
        EVENT_MAIL_ENABLED: 'false',
        CAMPAIGN_WORKER_ENABLED: 'false',
        DELIVERY_CONCURRENCY: process.env.DELIVERY_CONCURRENCY ?? '1000',
        ...env,
      });
      const svc = await startNotificationService(config, {
        logger: createLogger({ service: 'notification-service', level: 'warn' }),
      });
      const grpc = createGrpcClient(notificationV1.NotificationServiceDefinition, {
        address: svc.grpcAddress,
        defaultDeadlineMs: 60_000,
      });
      // Warm-up: topics, consumer groups, SMTP pool.
      const key = `warm-up-${randomUUID()}`;
      await grpc.client.sendEmail({
        to: [`${key}@up.test`],
        inline: { subject: 'warm-up', textBody: 'x', htmlBody: '' },
        idempotencyKey: key,
      });
      await waitForTotal(sink, 1, 60_000);
      await sink.clear();
      return {
        client: grpc.client,
        async stop() {
          grpc.close();
          await svc.stop();
        },
      };
    };
    let bench = await startBench();
    try {
      const client = bench.client;
      // 2. Throughput: batches of 100 recipients.
      const { sent, throughput, enqueueRate } = await throughputOf(sink, client, EMAILS, 'tp', 1);
      await sink.clear();

      // 3. Latency at 200 emails/s: one-recipient calls every 5 ms, on a fresh database.
      await bench.stop();
      bench = await startBench();
      const latencyClient = bench.client;
      const count = 200 * LATENCY_SECONDS;
      const startedAt = new Map<string, number>();
      const rpcLatencies: number[] = [];
      const l0 = Date.now();
      const pending: Array<Promise<unknown>> = [];
      for (let i = 0; i < count; i++) {
        const due = l0 + i * 5;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const to = `l${i}@lat.test`;
        startedAt.set(to, Date.now());
        const t = Date.now();
        pending.push(
          latencyClient
            .sendEmail({
              to: [to],
              inline: { subject: 'latency', textBody: 'x', htmlBody: '' },
              idempotencyKey: `lat-${i}`,
            })
            .then(() => rpcLatencies.push(Date.now() - t)),
        );
      }
      await Promise.all(pending);
      await waitForTotal(sink, count);
      const latencies = (await sink.all())
        .filter((m) => m.subject === 'latency')
        .map((m) => Date.parse(m.receivedAt) - (startedAt.get(m.envelope.to[0]) ?? NaN))
        .filter((v) => Number.isFinite(v))
        .sort((a, b) => a - b);
      rpcLatencies.sort((a, b) => a - b);

      results.push(
        `baseline  nodemailer → sink, pool ${POOL}:                ${baseline.toFixed(0)} emails/s`,
        `baseline  MongoDB txn insert notification+outbox:   ${mongoRate.toFixed(0)} mails/s (the enqueue leg's ceiling)`,
        `service   SendEmail(100 recipients) → SMTP-accepted:  ${throughput.toFixed(0)} emails/s  (${sent} mails; ${(throughput / baseline).toFixed(2)}× baseline; target ≥ 1000: ${throughput >= 1000 ? 'met' : 'NOT met'})`,
        `          SendEmail enqueue rate (queued, not yet sent): ${enqueueRate.toFixed(0)} emails/s  (${(enqueueRate / mongoRate).toFixed(2)}× the MongoDB baseline)`,
        `latency   at 200 emails/s (${latencies.length} mails), enqueue → accepted: p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms, max ${latencies[latencies.length - 1]} ms`,
        `          of which the SendEmail RPC (enqueue): p50 ${percentile(rpcLatencies, 50)} ms, p99 ${percentile(rpcLatencies, 99)} ms`,
      );

      // 4. Deliverability: limits on (never binding) per process vs shared, and DKIM signing.
      await bench.stop();
      const limits = { SEND_RATE_PER_SECOND: '1000000', DOMAIN_RATE_PER_SECOND: '1000000' };
      const variants: Record<string, Record<string, string>> = {
        local: { ...limits, SHARED_LIMITER_ENABLED: 'false' },
        shared: { ...limits, SHARED_LIMITER_ENABLED: 'true' },
        dkim: {
          ...limits,
          SHARED_LIMITER_ENABLED: 'false',
          DKIM_PRIVATE_KEY: dkimKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
          DKIM_SELECTOR: 'bench',
          DKIM_DOMAIN: 'trellis.dev',
        },
      };
      const rates: Record<string, number[]> = { local: [], shared: [], dkim: [] };
      for (const round of [1, 2]) {
        for (const [name, env] of Object.entries(variants)) {
          bench = await startBench(env);
          const run = await throughputOf(
            sink,
            bench.client,
            DELIVERABILITY_EMAILS,
            `${name}-${round}`,
            20,
          );
          rates[name].push(run.throughput);
          await sink.clear();
          await bench.stop();
        }
      }
      bench = await startBench();
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const line = (name: string) =>
        `${rates[name].map((r) => r.toFixed(0)).join(' / ')} emails/s (mean ${mean(rates[name]).toFixed(0)})`;
      results.push(
        `limits    ${DELIVERABILITY_EMAILS} mails to 20 domains, limits on but never binding, two rounds:`,
        `          per process (SendThrottle):           ${line('local')}`,
        `          shared (MongoDB, SHARED_LIMITER_ENABLED): ${line('shared')}  → shared/local ${(mean(rates.shared) / mean(rates.local)).toFixed(2)}`,
        `          per process + DKIM signing (RSA 2048): ${line('dkim')}  → DKIM/local ${(mean(rates.dkim) / mean(rates.local)).toFixed(2)}`,
      );
    } finally {
      await bench.stop();
    }
  } finally {
    const exited = [infra.proc, sinkChild.proc].map(
      (proc) => new Promise((resolve) => proc.once('exit', resolve)),
    );
    infra.proc.kill('SIGTERM');
    sinkChild.proc.kill('SIGTERM');
    await Promise.race([
      Promise.all(exited),
      new Promise((resolve) => setTimeout(resolve, 10_000)),
    ]);
  }
  console.log(['', 'bench/notification', ...results, ''].join('\n'));
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
