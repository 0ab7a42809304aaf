import { fixKafkajsRequestQueue } from './kafkajs-request-queue-fix';

interface Queue {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  scheduleCheckPendingRequests(): void;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const RequestQueue = require('kafkajs/src/network/requestQueue') as { prototype: Queue };

function queue(fields: Pick<Queue, 'pending' | 'throttledUntil'>): Queue {
  return Object.assign(Object.create(RequestQueue.prototype) as Queue, {
    ...fields,
    throttleCheckTimeoutId: null,
  });
}

describe('kafkajs RequestQueue fix', () => {
  beforeAll(() => fixKafkajsRequestQueue());

  it('arms no timer when nothing is pending and nothing throttles', () => {
    const idle = queue({ pending: [], throttledUntil: -1 });
    idle.scheduleCheckPendingRequests();
    expect(idle.throttleCheckTimeoutId).toBeNull();
  });

  it('still checks pending requests later, and a throttled queue', () => {
    for (const q of [
      queue({ pending: [{}], throttledUntil: -1 }),
      queue({ pending: [], throttledUntil: Date.now() + 60_000 }),
    ]) {
      q.scheduleCheckPendingRequests();
      expect(q.throttleCheckTimeoutId).not.toBeNull();
      clearTimeout(q.throttleCheckTimeoutId!);
    }
  });
});
