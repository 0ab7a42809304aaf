import {
  type Channel,
  type ClientError,
  createChannel,
  createClient,
  Metadata,
  Status,
} from 'nice-grpc';
import { notificationV1 } from '@trellis/contracts';
import { errorInfo, retryInfo, startInfra, startTestService, type Infra } from './support';

// Own broker: a second service instance on the same topics would share the consumer groups.
let infra: Infra;
beforeAll(async () => {
  infra = await startInfra();
});
afterAll(async () => {
  await infra?.stop();
});

describe('rate limits', () => {
  it('per caller: RESOURCE_EXHAUSTED with RetryInfo and reason RATE_LIMITED', async () => {
    const limited = await startTestService(infra, {
      CALLER_RATE_PER_SECOND: '1',
      CALLER_RATE_BURST: '2',
    });
    try {
      const send = (key: string) =>
        limited.client.sendEmail({
          to: ['r@limit.test'],
          inline: { subject: 's', textBody: 't', htmlBody: '' },
          idempotencyKey: key,
        });
      await send('l1');
      await send('l2');
      const err = (await send('l3').catch((e: unknown) => e)) as ClientError;
      expect(err.code).toBe(Status.RESOURCE_EXHAUSTED);
      expect(retryInfo(err)?.retryDelay).toBeDefined();
      expect(errorInfo(err)?.reason).toBe('RATE_LIMITED');
      expect(errorInfo(err)?.metadata.limit).toBe('send_email_per_caller');
    } finally {
      await limited.stop();
    }
  });

  it('per caller without authentication: neither a forged header nor a new connection escapes the limit', async () => {
    const limited = await startTestService(infra, {
      CALLER_RATE_PER_SECOND: '1',
      CALLER_RATE_BURST: '5',
    });
    try {
      // The reproducer: concurrent calls, each claiming another caller in `x-caller` and
      // half of them on a connection of their own. Every call comes from 127.0.0.1: one bucket.
      const channels: Channel[] = [];
      const started = performance.now();
      const outcomes = await Promise.all(
        Array.from({ length: 40 }, (_, i) => {
          let client = limited.client;
          if (i % 2 === 1) {
            const channel = createChannel(limited.service.grpcAddress);
            channels.push(channel);
            client = createClient(notificationV1.NotificationServiceDefinition, channel);
          }
          return client
            .sendEmail(
              {
                to: ['r@limit.test'],
                inline: { subject: 'forged', textBody: 't', htmlBody: '' },
                idempotencyKey: `forged-${i}`,
              },
              { metadata: Metadata({ 'x-caller': `caller-${i}` }) },
            )
            .then(
              () => Status.OK,
              (e: ClientError) => e.code,
            );
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      channels.forEach((channel) => channel.close());
      const ok = outcomes.filter((code) => code === Status.OK).length;
      const limitedCalls = outcomes.filter((code) => code === Status.RESOURCE_EXHAUSTED).length;
      // One bucket: the burst (5) plus what refills (1/s) while the calls run. A bucket per
      // header or per connection would let all 40 through.
      expect(ok).toBeGreaterThanOrEqual(5);
      expect(ok).toBeLessThanOrEqual(5 + Math.ceil(seconds) + 1);
      expect(ok + limitedCalls).toBe(40);
      // The access log names the caller it counted: the address, never the header.
      const callers = limited.lines
        .filter((l) => l['rpc.method'] === '/trellis.notification.v1.NotificationService/SendEmail')
        .map((l) => l.caller);
      expect(callers).toHaveLength(40);
      expect(new Set(callers)).toEqual(new Set(['127.0.0.1']));
    } finally {
      await limited.stop();
    }
  });

  it('the measured send rate stays within the configured global and per-domain limits', async () => {
    const limited = await startTestService(infra, {
      SEND_RATE_PER_SECOND: '40',
      SEND_RATE_BURST: '1',
      DOMAIN_RATE_PER_SECOND: '20',
      DOMAIN_RATE_BURST: '1',
    });
    try {
      const sameDomain = Array.from({ length: 40 }, (_, i) => `u${i}@one-domain.test`);
      const manyDomains = Array.from({ length: 80 }, (_, i) => `u@d${i}.spread.test`);
      await limited.client.sendEmail({
        to: sameDomain,
        inline: { subject: 'rate-domain', textBody: 'x', htmlBody: '' },
        idempotencyKey: 'rate-domain',
      });
      const domainMails = await infra.sink.waitForMessages((m) => m.subject === 'rate-domain', {
        count: sameDomain.length,
        timeoutMs: 20_000,
      });
      await limited.client.sendEmail({
        to: manyDomains,
        inline: { subject: 'rate-global', textBody: 'x', htmlBody: '' },
        idempotencyKey: 'rate-global',
      });
      const globalMails = await infra.sink.waitForMessages((m) => m.subject === 'rate-global', {
        count: manyDomains.length,
        timeoutMs: 20_000,
      });
      // A token bucket of rate r and burst b lets at most r·T + b mails through in any window of T.
      // The sink sees them after the SMTP pool, whose queueing under CPU load bunches mails that
      // left the throttle evenly: allow a quarter second of such jitter.
      const maxInWindow = (mails: Array<{ receivedAt: string }>, windowMs: number) => {
        const t = mails.map((m) => Date.parse(m.receivedAt)).sort((x, y) => x - y);
        let max = 0;
        for (let i = 0, j = 0; j < t.length; j++) {
          while (t[j] - t[i] >= windowMs) i++;
          max = Math.max(max, j - i + 1);
        }
        return max;
      };
      const span = (mails: Array<{ receivedAt: string }>) => {
        const t = mails.map((m) => Date.parse(m.receivedAt));
        return Math.max(...t) - Math.min(...t);
      };
      expect(maxInWindow(domainMails, 1000)).toBeLessThanOrEqual(20 + 1 + 5);
      expect(maxInWindow(globalMails, 1000)).toBeLessThanOrEqual(40 + 1 + 10);
      // Over the whole run the average rate stays within the limit: n mails need at least
      // (n - burst) / rate seconds. Less half a second: the first mails wait for the SMTP pool's
      // connections while the throttle goes on releasing (a late first mail shortens the span;
      // under a full test run's CPU load that start-up took up to 0.3 s). Unthrottled, the span
      // would be a few tens of ms.
      const minSpan = (n: number, rate: number) => ((n - 1) / rate) * 1000 - 500;
      expect(span(domainMails)).toBeGreaterThanOrEqual(minSpan(sameDomain.length, 20));
      expect(span(globalMails)).toBeGreaterThanOrEqual(minSpan(manyDomains.length, 40));
    } finally {
      await limited.stop();
    }
  });
});
