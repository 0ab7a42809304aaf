/** Time and randomness, injectable so use cases stay deterministic in unit tests. */
export interface Runtime {
  now(): Date;
  /** Uniform in [0, 1). */
  random(): number;
}

export const systemRuntime: Runtime = { now: () => new Date(), random: () => Math.random() };
