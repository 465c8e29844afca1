import type { Redis } from 'ioredis';
import type { Logger } from '../src/log.ts';
import { recordSmtpStatus } from '../src/mail/smtp-status.ts';
import { QUEUE_NAMES } from '../src/jobs/jobs.ts';

const MAX_QUEUE_PAUSE_MS = 10 * 60_000;
/** How often the process that paused the queue probes the server; a lift reaches every worker within one slice. */
const PROBE_EVERY_MS = 2_000;
/** The rate-limit key is set in slices of this length and renewed while the pause lasts. */
const SLICE_MS = 2_500;

/** Why the send queue is paused. */
export type PauseReason = 'server-unavailable' | 'configuration';

/** Length of the n-th consecutive pause: SEND_BACKOFF_MS doubling up to ten minutes, with jitter (half to full). */
export function pauseLength(firstMs: number, outages: number): number {
  const base = Math.min(MAX_QUEUE_PAUSE_MS, firstMs * 2 ** Math.max(0, outages - 1));
  return Math.round(base * (0.5 + Math.random() * 0.5));
}

/**
 * A pause of the send queue that holds every worker of every thread and process: the queue's BullMQ
 * rate-limit key, which each send worker checks before taking a job (the worker always has a limiter,
 * so it does), plus a pause record in Redis that the first failing batch writes and the others join.
 * BullMQ workers sleep for the key's whole TTL, so the key is set in short slices and renewed while the
 * pause lasts: when the probe (a fresh connection, EHLO, STARTTLS, AUTH) succeeds the pause ends, and
 * sending resumes within one slice instead of at the end of a ten-minute backoff.
 * A pause for our configuration is not lifted by a probe (relaying or the sender may still be refused);
 * it runs its backoff, and a restart with fixed settings lifts it at once (the start-up check).
 */
export class SendPause {
  private driving = false;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly firstMs: number,
    private readonly probe: () => Promise<void>,
    private readonly log: Logger,
    /** the queue whose workers this pause holds (notifications by default; digests have their own) */
    private readonly queue: string = QUEUE_NAMES.send,
  ) {}

  private get keys() {
    const base = `${this.prefix}:${this.queue}`;
    return { limiter: `${base}:limiter`, pause: `${base}:smtp-pause`, outages: `${base}:smtp-outages` };
  }

  /** A batch found the server unavailable or refusing our configuration: pause (or join the running pause); returns its remaining ms. */
  async hold(reason: PauseReason): Promise<number> {
    const { pause, outages } = this.keys;
    const running = await this.redis.pttl(pause);
    if (running > 0) return this.join(running);
    const length = pauseLength(this.firstMs, Number((await this.redis.get(outages)) ?? 0) + 1);
    // NX: of several batches failing at once, one starts the pause (and counts the outage); the others join it
    if ((await this.redis.set(pause, reason, 'PX', length, 'NX')) !== 'OK') return this.join(await this.redis.pttl(pause));
    await this.redis.incr(outages);
    await this.setSlice(length);
    void this.drive(reason, Date.now() + length);
    return length;
  }

  private async join(remaining: number): Promise<number> {
    if (remaining > 0) await this.setSlice(remaining);
    return Math.max(0, remaining);
  }

  /** A batch reached the server: the next outage starts from the first pause again. */
  async reset(): Promise<void> {
    await this.redis.del(this.keys.outages);
  }

  /** Ends any pause now (the start-up check found the server working). */
  async lift(): Promise<void> {
    const { pause, limiter, outages } = this.keys;
    await this.redis.del(pause, limiter, outages);
  }

  /** Consecutive pauses so far (0 while the server answers). */
  async consecutive(): Promise<number> {
    return Number((await this.redis.get(this.keys.outages)) ?? 0);
  }

  private async setSlice(remainingMs: number): Promise<void> {
    await this.redis.set(this.keys.limiter, Number.MAX_SAFE_INTEGER, 'PX', Math.max(1, Math.min(SLICE_MS, remainingMs)));
  }

  /** Renews the slices until the pause ends, probing the server for a pause about its availability. */
  private async drive(reason: PauseReason, until: number): Promise<void> {
    if (this.driving) return;
    this.driving = true;
    try {
      while (Date.now() < until) {
        await new Promise((r) => setTimeout(r, Math.min(PROBE_EVERY_MS, Math.max(1, until - Date.now()))));
        if ((await this.redis.pttl(this.keys.pause)) <= 0) return;
        if (reason === 'server-unavailable' && (await this.probeSucceeds())) {
          await this.redis.del(this.keys.pause, this.keys.limiter);
          await recordSmtpStatus(this.redis, this.prefix, 'ok');
          this.log.info('SMTP server answers again: send queue resumed');
          return;
        }
        await this.setSlice(until - Date.now());
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'send pause: Redis error; the pause ends with its last slice');
    } finally {
      this.driving = false;
    }
  }

  private async probeSucceeds(): Promise<boolean> {
    return this.probe().then(
      () => true,
      () => false,
    );
  }
}
