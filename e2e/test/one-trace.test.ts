import { trace } from '@opentelemetry/api';
import { accountV1 } from '@trellis/contracts';
import { waitFor } from '@trellis/platform/testing';
import { startSystem, type E2eSystem } from './support';

let system: E2eSystem;
beforeAll(async () => {
  system = await startSystem();
});
afterAll(() => system?.stop());

describe('one trace from a Transfer RPC to the mailbox', () => {
  it('the RPC, the outbox publish, the consumer and the SMTP send share one trace id, and the mail carries it', async () => {
    const accounts = system.client(
      accountV1.AccountServiceDefinition,
      system.devstack.endpoints.account,
    );
    const open = async (name: string, email: string) =>
      (await accounts.openAccount({ ownerName: name, email, currencyCode: 'EUR' })).account!.id;
    const alice = await open('Alice Trace', 'alice.trace@example.com');
    const bob = await open('Bob Trace', 'bob.trace@example.com');
    await accounts.deposit({
      accountId: alice,
      amount: { currencyCode: 'EUR', units: 10_000n },
      idempotencyKey: 'trace-deposit',
    });

    let traceId = '';
    await trace.getTracer('e2e').startActiveSpan('user clicks transfer', async (span) => {
      traceId = span.spanContext().traceId;
      await accounts.transfer({
        fromAccountId: alice,
        toAccountId: bob,
        amount: { currencyCode: 'EUR', units: 2_500n },
        idempotencyKey: 'trace-transfer',
        reference: 'rent',
      });
      span.end();
    });

    const sink = system.devstack.smtp!;
    const receipts = await sink.waitForMessages(
      (m) =>
        m.headers.some((h) => h.name.toLowerCase() === 'x-trellis-trace-id' && h.value === traceId),
      { count: 2, timeoutMs: 30_000 },
    );
    expect(receipts.flatMap((m) => m.envelope.to).sort()).toEqual([
      'alice.trace@example.com',
      'bob.trace@example.com',
    ]);

    const spans = await waitFor(
      () => {
        const inTrace = system.spans
          .getFinishedSpans()
          .filter((s) => s.spanContext().traceId === traceId);
        const names = inTrace.map((s) => s.name);
        const complete =
          names.includes('trellis.account.v1.AccountService/Transfer') &&
          names.includes('send account.events.v1') &&
          names.includes('process account.events.v1');
        return complete ? inTrace : undefined;
      },
      { timeoutMs: 20_000, what: 'the RPC, publish and consume spans in one trace' },
    );
    const names = spans.map((s) => s.name);
    // The delivery leg (notification.email.v1 or a send span) belongs to the same trace too.
    expect(
      names.some((n) => n.includes('notification.email.v1') || /smtp|send email|deliver/i.test(n)),
    ).toBe(true);
  });
});
