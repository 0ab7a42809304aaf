/** The clock, injectable so use cases stay deterministic in unit tests. */
export interface Runtime {
  now(): Date;
}

export const systemRuntime: Runtime = { now: () => new Date() };
