import type { WireVersion } from '@trellis/devstack/mongo';

/**
 * The MongoDB version the devstack presents to the job repository tests: 8.0 (its default: a
 * transaction's job writes and outbox document in one client bulkWrite), or 7.0 once a test file
 * calls `presentMongo70` (separate commands). Jest gives every test file its own module registry,
 * so the switch holds for that file alone.
 */
let presented: WireVersion | undefined;

export function presentMongo70(): void {
  presented = 21;
}

export function presentedWireVersion(): WireVersion | undefined {
  return presented;
}
