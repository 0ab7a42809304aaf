interface RequestQueueInternals {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  scheduleCheckPendingRequests(): void;
}

let applied = false;

/**
 * kafkajs 2.2.4 (its last release) re-arms a 1 ms timer per broker connection forever, even with
 * nothing pending and no throttling (tulios/kafkajs#1556, #1704; the fix, PR #1667, was never
 * merged): an idle service spun a few % of a core on it. The check is only needed while requests
 * wait, so it is scheduled only then, as the fix does; a throttled queue keeps kafkajs's own path.
 */
export function fixKafkajsRequestQueue(): void {
  if (applied) return;
  applied = true;
  // kafkajs keeps RequestQueue internal; the module is the one its connections use.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const RequestQueue = require('kafkajs/src/network/requestQueue') as {
    prototype: RequestQueueInternals;
  };
  const original = RequestQueue.prototype.scheduleCheckPendingRequests;
  RequestQueue.prototype.scheduleCheckPendingRequests = function (this: RequestQueueInternals) {
    if (this.pending.length === 0 && this.throttledUntil <= Date.now()) return;
    original.call(this);
  };
}
