/** Time and fresh ids, so use cases are deterministic under test. */
export interface Runtime {
  now(): Date;
  newId(): string;
}
