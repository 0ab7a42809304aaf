import type { jobV1 } from '@trellis/contracts';
import type { Logger } from '@trellis/platform/logging';
import type { JobServiceClient } from './worker-api';

export interface ClaimLoopSettings {
  client: Pick<JobServiceClient, 'claimJobs'>;
  workerId: string;
  types: string[];
  /** How long one ClaimJobs long-poll waits when nothing is due. */
  claimWaitMs: number;
  /** Slots free right now; the loop asks for at most that many jobs (and 100 per call). */
  freeSlots(): number;
  /** Receives the jobs of each ClaimJobs answer (as soon as it arrives). */
  onClaimed(claimed: jobV1.ClaimedJob[]): void;
  logger: Logger;
}

export interface ClaimLoop {
  /** Starts the loop (once). */
  start(): void;
  /** Call when a slot was freed: a loop waiting for one, or backing off, claims again at once. */
  wake(): void;
  /** Stops claiming: the open long-poll is cancelled; resolves when the loop has ended. */
  stop(): Promise<void>;
}

/**
 * The claim loop: long-polls ClaimJobs for as many jobs as there are free slots, waits for a slot
 * when all are taken, and backs off exponentially (200 ms … 5 s) after failed calls.
 */
export function createClaimLoop(settings: ClaimLoopSettings): ClaimLoop {
  const { client, claimWaitMs, logger } = settings;
  const wait = {
    seconds: BigInt(Math.floor(claimWaitMs / 1000)),
    nanos: (claimWaitMs % 1000) * 1e6,
  };
  let stopping = false;
  let loop: Promise<void> | undefined;
  let claimAbort: AbortController | undefined;
  let waiter: (() => void) | undefined;

  const wake = () => {
    const resolve = waiter;
    waiter = undefined;
    resolve?.();
  };

  // A freed slot (or stop) also ends a backoff early: the next call may well succeed.
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      waiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  async function run(): Promise<void> {
    let failures = 0;
    while (!stopping) {
      const free = settings.freeSlots();
      if (free <= 0) {
        await new Promise<void>((resolve) => (waiter = resolve));
        continue;
      }
      claimAbort = new AbortController();
      let claimed: jobV1.ClaimedJob[];
      try {
        const response = await client.claimJobs(
          {
            workerId: settings.workerId,
            types: settings.types,
            maxJobs: Math.min(100, free),
            wait,
          },
          { signal: claimAbort.signal, deadline: new Date(Date.now() + claimWaitMs + 10_000) },
        );
        claimed = response.jobs;
        failures = 0;
      } catch (err) {
        if (stopping) break;
        failures++;
        const delay = Math.min(5_000, 100 * 2 ** Math.min(failures, 6));
        logger.warn({ err, retry_in_ms: delay }, 'ClaimJobs failed');
        await pause(delay);
        continue;
      }
      settings.onClaimed(claimed);
    }
  }

  return {
    start() {
      loop ??= run().catch((err: unknown) => logger.error({ err }, 'claim loop crashed'));
    },
    wake,
    async stop() {
      stopping = true;
      claimAbort?.abort();
      wake();
      await loop;
    },
  };
}
