const MAX_QUEUE_PAUSE_MS = 10 * 60_000;

/**
 * Pause of the send queue while the SMTP server is unavailable: exponential with jitter, from
 * SEND_BACKOFF_MS up to ten minutes. One outage seen by several concurrent batches counts once: a batch
 * that fails while a pause is running joins that pause instead of doubling it, so the queue resumes
 * shortly after the server does, however many jobs were in flight.
 */
export class SendBackoff {
  private outages = 0;
  private pausedUntil = 0;

  constructor(private readonly firstMs: number) {}

  /** A batch found the server unavailable: how long the queue is to pause from now. */
  pause(now = Date.now()): number {
    if (now < this.pausedUntil) return this.pausedUntil - now;
    this.outages += 1;
    const base = Math.min(MAX_QUEUE_PAUSE_MS, this.firstMs * 2 ** (this.outages - 1));
    const pause = Math.round(base * (0.5 + Math.random() * 0.5));
    this.pausedUntil = now + pause;
    return pause;
  }

  /** A batch reached the server: the next outage starts from the first pause again. */
  reset(): void {
    this.outages = 0;
    this.pausedUntil = 0;
  }

  /** Consecutive pauses so far (0 while the server answers). */
  get consecutive(): number {
    return this.outages;
  }
}
