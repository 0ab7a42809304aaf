import { trace } from '@opentelemetry/api';
import { startTelemetry, type Telemetry } from '@trellis/platform/telemetry';
import { DeliveryOutcomes, type DeliveryOutcome } from './delivery-outcomes';
import type { OutgoingEvent, Tx, UnitOfWork } from './unit-of-work.port';

let telemetry: Telemetry;
beforeAll(() => {
  telemetry = startTelemetry({ serviceName: 'delivery-outcomes-test' });
});
afterAll(() => telemetry.shutdown());

function outcome(id: string, attempts: number): DeliveryOutcome {
  return {
    id,
    expected: { state: 'SENDING' as DeliveryOutcome['expected']['state'], attempts },
    changes: {},
    events: [
      {
        topic: 'notification.events.v1',
        eventType: 'trellis.notification.v1.EmailSent',
        payload: {},
        aggregateId: id,
        aggregateType: 'notification',
      } as unknown as OutgoingEvent,
    ],
  };
}

describe('DeliveryOutcomes', () => {
  it('commits concurrent outcomes together; only matched guards publish, each under its own trace', async () => {
    const transactions: OutgoingEvent[][] = [];
    const uow: UnitOfWork = {
      run: (work) => work({} as Tx),
      publish: async (_tx, events) => void transactions.push(events),
    };
    const outcomes = new DeliveryOutcomes(uow, {
      // The guard of "stale" no longer matches.
      transitionMany: async (_tx, batch) => batch.map((o) => o.id !== 'stale'),
    });
    const tracer = trace.getTracer('test');
    const traced = (o: DeliveryOutcome) =>
      tracer.startActiveSpan('deliver', async (span) => {
        const moved = await outcomes.record(o);
        span.end();
        return { moved, traceId: span.spanContext().traceId };
      });
    const [a, stale, b] = await Promise.all([
      traced(outcome('a', 1)),
      traced(outcome('stale', 1)),
      traced(outcome('b', 2)),
    ]);
    expect([a.moved, stale.moved, b.moved]).toEqual([true, false, true]);
    expect(transactions).toHaveLength(1);
    const [published] = transactions;
    expect(published.map((e) => e.aggregateId)).toEqual(['a', 'b']);
    expect(published[0].trace?.traceparent).toContain(a.traceId);
    expect(published[1].trace?.traceparent).toContain(b.traceId);
  });
});
