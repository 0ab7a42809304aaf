interface InflightRequest {
  sentAt: number | null;
  requestTimeout: number;
  timeoutRequest(): void;
}

interface RequestQueueInternals {
  pending: unknown[];
  inflight: Map<number, InflightRequest>;
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  enforceRequestTimeout: boolean;
  requestTimeoutIntervalId?: NodeJS.Timeout;
  isConnected(): boolean;
  scheduleCheckPendingRequests(): void;
  scheduleRequestTimeoutCheck(): void;
  sendSocketRequest(request: InflightRequest & { correlationId: number }): void;
  destroy(): void;
  /** Added here: the one timer that times out in-flight requests, armed for the earliest deadline. */
  timeoutCheck?: NodeJS.Timeout | null;
  /** When `timeoutCheck` fires (Date.now() ms). */
  timeoutCheckAt?: number;
  timeoutsEnforced?: boolean;
}

let applied = false;

/**
 * Two idle loops of kafkajs 2.2.4 (its last release) per broker connection, replaced by timers
 * armed only when there is something to check:
 *
 * - It re-arms a 1 ms timer forever, even with nothing pending and no throttling (tulios/kafkajs#1556,
 *   #1704; the fix, PR #1667, was never merged). The check is only needed while requests wait, so it
 *   is scheduled only then, as the fix does; a throttled queue keeps kafkajs's own path.
 * - It checks its in-flight requests for timeouts every 100 ms while connected, busy or not: about
 *   120 wake-ups a second in the all-in-one system's dozen connections. Here one timer per
 *   connection is armed for the earliest in-flight deadline when a request is sent and re-armed for
 *   the next one when it fires; a request still times out `requestTimeout` after it was sent (or a
 *   few ms later rather than up to 100 ms), and an idle connection, or one whose requests answer in
 *   time, wakes once per `requestTimeout` at most.
 */
export function fixKafkajsRequestQueue(): void {
  if (applied) return;
  applied = true;
  // kafkajs keeps RequestQueue internal; the module is the one its connections use.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const RequestQueue = require('kafkajs/src/network/requestQueue') as {
    prototype: RequestQueueInternals;
  };
  const proto = RequestQueue.prototype;

  const scheduleCheckPendingRequests = proto.scheduleCheckPendingRequests;
  proto.scheduleCheckPendingRequests = function (this: RequestQueueInternals) {
    if (this.pending.length === 0 && this.throttledUntil <= Date.now()) return;
    scheduleCheckPendingRequests.call(this);
  };

  const destroy = proto.destroy;
  proto.destroy = function (this: RequestQueueInternals) {
    destroy.call(this);
    this.timeoutsEnforced = false;
    if (this.timeoutCheck) clearTimeout(this.timeoutCheck);
    this.timeoutCheck = null;
  };

  // Called on every connect; kafkajs's own version starts the 100 ms interval.
  proto.scheduleRequestTimeoutCheck = function (this: RequestQueueInternals) {
    if (!this.enforceRequestTimeout) return;
    this.destroy();
    this.timeoutsEnforced = true;
    armTimeoutCheck(this);
  };

  const sendSocketRequest = proto.sendSocketRequest;
  proto.sendSocketRequest = function (this: RequestQueueInternals, request) {
    sendSocketRequest.call(this, request);
    if (!this.inflight.has(request.correlationId) || request.sentAt === null) return;
    // Requests' timeouts differ (a fetch's includes its wait): this one may be due first.
    const due = request.sentAt + request.requestTimeout + 1;
    if (this.timeoutCheck && (this.timeoutCheckAt ?? 0) <= due) return;
    if (this.timeoutCheck) clearTimeout(this.timeoutCheck);
    this.timeoutCheck = null;
    armTimeoutCheck(this);
  };
}

/** Times out the in-flight requests past their deadline and arms the timer for the next deadline. */
function armTimeoutCheck(queue: RequestQueueInternals): void {
  if (!queue.timeoutsEnforced) return;
  const now = Date.now();
  let next = Infinity;
  for (const request of [...queue.inflight.values()]) {
    if (request.sentAt === null) continue;
    const left = request.sentAt + request.requestTimeout - now;
    // Strictly past it, as kafkajs checks; timeoutRequest() removes it from `inflight`.
    if (left < 0) request.timeoutRequest();
    else next = Math.min(next, left + 1);
  }
  if (!queue.isConnected()) {
    queue.destroy();
    return;
  }
  if (next === Infinity) return;
  queue.timeoutCheckAt = now + next;
  queue.timeoutCheck = setTimeout(() => {
    queue.timeoutCheck = null;
    armTimeoutCheck(queue);
  }, next);
}
