import { KafkaJSRequestTimeoutError } from 'kafkajs';
import { fixKafkajsRequestQueue } from './kafkajs-request-queue-fix';

interface Queue {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  scheduleCheckPendingRequests(): void;
}

interface Entry {
  correlationId: number;
  apiName: string;
  apiKey: number;
  apiVersion: number;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

interface ConnectedQueue {
  scheduleRequestTimeoutCheck(): void;
  push(request: {
    entry: Entry;
    expectResponse: boolean;
    sendRequest(): void;
    requestTimeout?: number;
  }): void;
  fulfillRequest(response: { correlationId: number; payload: Buffer; size: number }): void;
  destroy(): void;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const RequestQueue = require('kafkajs/src/network/requestQueue') as {
  prototype: Queue;
  new (options: Record<string, unknown>): ConnectedQueue;
};

function queue(fields: Pick<Queue, 'pending' | 'throttledUntil'>): Queue {
  return Object.assign(Object.create(RequestQueue.prototype) as Queue, {
    ...fields,
    throttleCheckTimeoutId: null,
  });
}

const quiet = { debug: () => undefined, warn: () => undefined, error: () => undefined };

/** A queue of a connected broker connection, as kafkajs's Connection sets it up on connect. */
function connected(requestTimeout = 1_000): ConnectedQueue {
  const q = new RequestQueue({
    maxInFlightRequests: null,
    requestTimeout,
    enforceRequestTimeout: true,
    clientId: 'spec',
    broker: 'localhost:9092',
    logger: quiet,
    isConnected: () => true,
  });
  q.scheduleRequestTimeoutCheck();
  return q;
}

/** Sends a request; its outcome is recorded in the returned object. */
function send(q: ConnectedQueue, correlationId: number, requestTimeout?: number) {
  const outcome: { resolved: boolean; error?: unknown } = { resolved: false };
  q.push({
    entry: {
      correlationId,
      apiName: 'Fetch',
      apiKey: 1,
      apiVersion: 11,
      resolve: () => (outcome.resolved = true),
      reject: (error) => (outcome.error = error),
    },
    expectResponse: true,
    sendRequest: () => undefined,
    requestTimeout,
  });
  return outcome;
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

  describe('request timeouts', () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    it('an idle connection keeps no timer', () => {
      const q = connected();
      expect(jest.getTimerCount()).toBe(0);
      q.destroy();
    });

    it('a request with no answer still times out after requestTimeout', () => {
      const q = connected(1_000);
      const request = send(q, 1);
      jest.advanceTimersByTime(900);
      expect(request.error).toBeUndefined();
      jest.advanceTimersByTime(200);
      expect(request.error).toBeInstanceOf(KafkaJSRequestTimeoutError);
      expect(jest.getTimerCount()).toBe(0);
      q.destroy();
    });

    it('answered requests leave no timer ticking', () => {
      const q = connected(1_000);
      const request = send(q, 1);
      q.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
      expect(request.resolved).toBe(true);
      // The timer armed for the request's deadline finds nothing left and is not re-armed.
      jest.advanceTimersByTime(1_100);
      expect(jest.getTimerCount()).toBe(0);
      expect(request.error).toBeUndefined();
      q.destroy();
    });

    it('a request due before the one already in flight times out on its own deadline', () => {
      const q = connected(1_000);
      const fetch = send(q, 1, 5_000);
      const heartbeat = send(q, 2);
      jest.advanceTimersByTime(1_100);
      expect(heartbeat.error).toBeInstanceOf(KafkaJSRequestTimeoutError);
      expect(fetch.error).toBeUndefined();
      jest.advanceTimersByTime(4_000);
      expect(fetch.error).toBeInstanceOf(KafkaJSRequestTimeoutError);
    });

    it('a disconnected queue stops checking', () => {
      const q = connected(1_000);
      send(q, 1);
      q.destroy();
      expect(jest.getTimerCount()).toBe(0);
    });
  });
});
