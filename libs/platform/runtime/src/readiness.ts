export interface ReadinessSettings {
  /** Whether the dependencies answer (MongoDB ping and Kafka describeCluster); never throws. */
  check(): Promise<boolean>;
  /** Publishes a result (the health statuses). */
  report(ready: boolean): void;
  /** Re-check pace while not ready, so that readiness comes back soon after the outage (default 5 s). */
  retryMs?: number;
  /**
   * Re-check pace while ready and nobody probes (default 30 s): it keeps health Watch streams and
   * an unprobed process following an outage, without waking an idle system every few seconds.
   */
  idleMs?: number;
  /** A probe checks again when the last check is older than this (default 1 s). */
  probeFreshMs?: number;
  /** How long a probe waits for its check before it gets the last result (default 1 s). */
  probeWaitMs?: number;
}

/**
 * Readiness of a service's dependencies, checked when it is asked for rather than on a fast timer:
 * a readiness probe (`probe()`, before the health Check answers) runs a check unless the last one is
 * under `probeFreshMs` old, so kubelet's probe gets a current answer at its own pace. Between probes
 * the state is re-checked every `idleMs` while ready and every `retryMs` while not, and at once on
 * `suspect()` (a failed driver heartbeat): an idle, unprobed system wakes for it twice a minute.
 */
export class Readiness {
  private ready = false;
  private checkedAt = 0;
  private checking: Promise<boolean> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly settings: ReadinessSettings) {}

  /** Runs a check now (or joins the one in flight) and publishes its result. */
  refresh(): Promise<boolean> {
    this.checking ??= this.settings
      .check()
      .catch(() => false)
      .then((ready) => {
        this.ready = ready;
        this.checkedAt = Date.now();
        this.checking = undefined;
        if (!this.stopped) {
          this.settings.report(ready);
          this.schedule();
        }
        return ready;
      });
    return this.checking;
  }

  /** Before a probe is answered: a fresh check unless the last one is recent, waited on briefly. */
  async probe(): Promise<void> {
    if (this.stopped || Date.now() - this.checkedAt < (this.settings.probeFreshMs ?? 1_000)) return;
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.settings.probeWaitMs ?? 1_000);
    });
    await Promise.race([this.refresh(), gaveUp]);
    clearTimeout(timer);
  }

  /** Something hints at an outage (e.g. a failed MongoDB heartbeat): check now. */
  suspect(): void {
    if (!this.stopped) void this.refresh();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    clearTimeout(this.timer);
    const ms = this.ready ? (this.settings.idleMs ?? 30_000) : (this.settings.retryMs ?? 5_000);
    this.timer = setTimeout(() => void this.refresh(), ms);
    this.timer.unref();
  }
}
