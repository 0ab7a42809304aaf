import { MAX_RESPONSE_JSON_BYTES } from './job';

/** What one claim asks for: up to `maxJobs` due jobs of `types`. */
export interface ClaimWant {
  types: string[];
  maxJobs: number;
}

/** The claims of one set of types, by their index among the claims served together. */
export interface ClaimGroup {
  /** The same for any order of the same types. */
  key: string;
  types: string[];
  claims: number[];
}

/** The key of a set of types: claims asking for the same set share candidates. */
export function typeSetKey(types: string[]): string {
  return [...types].sort().join('\n');
}

/** Claims served together, grouped by set of types; each group keeps the claims' order. */
export function claimGroups(wants: readonly ClaimWant[]): ClaimGroup[] {
  const groups = new Map<string, ClaimGroup>();
  wants.forEach((want, i) => {
    const key = typeSetKey(want.types);
    const group = groups.get(key);
    if (group) group.claims.push(i);
    else groups.set(key, { key, types: want.types, claims: [i] });
  });
  return [...groups.values()];
}

/**
 * Hands the due jobs of one group to its claims in order, each up to its `maxJobs` and its byte
 * budget: at most MAX_RESPONSE_JSON_BYTES of payload JSON per claim (a larger job alone), so a
 * claim response fits gRPC's usual 4 MiB receive limit. Pure: the repository offers the jobs.
 */
export class ClaimAllocation {
  private next = 0;
  private readonly counts: number[];
  private readonly bytes: number[];

  constructor(
    private readonly wants: readonly ClaimWant[],
    private readonly group: ClaimGroup,
  ) {
    this.counts = wants.map(() => 0);
    this.bytes = wants.map(() => 0);
  }

  /** Every claim of the group is full (by count or by size). */
  get done(): boolean {
    return this.next >= this.group.claims.length;
  }

  /** How many more jobs the group's open claims take at most. */
  wanted(): number {
    return this.group.claims
      .slice(this.next)
      .reduce((n, i) => n + this.wants[i].maxJobs - this.counts[i], 0);
  }

  /**
   * Offers a due job whose payload JSON is `payloadBytes` long: the index of the claim that takes
   * it, or undefined when every claim is full by size (the job stays a candidate).
   */
  take(payloadBytes: number): number | undefined {
    let claim = this.group.claims[this.next];
    if (
      claim !== undefined &&
      this.counts[claim] > 0 &&
      this.bytes[claim] + payloadBytes > MAX_RESPONSE_JSON_BYTES
    )
      claim = this.group.claims[++this.next];
    if (claim === undefined) return undefined;
    this.bytes[claim] += payloadBytes;
    if (++this.counts[claim] >= this.wants[claim].maxJobs) this.next++;
    return claim;
  }
}

/** The time the claims served together are due by: the latest of theirs. */
export function claimTime(nows: readonly Date[]): Date {
  return new Date(Math.max(...nows.map((now) => now.getTime())));
}
