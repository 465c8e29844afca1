import { Worker, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../src/config.ts';
import type { BatchOutcome, SendFailure } from '../src/core/delivery.ts';
import { sendThrottle } from '../src/jobs/jobs.ts';
import type { Logger } from '../src/log.ts';
import { maskAddresses } from '../src/mail/mask-addresses.ts';
import { configurationHint, describeSmtpError } from '../src/mail/smtp-errors.ts';
import { recordSmtpStatus } from '../src/mail/smtp-status.ts';
import type { PauseReason, SendPause } from './send-pause.ts';

/** Deliveries deferred by a 4xx: the job is retried with exponential backoff (its sent ones are not resent). */
export class DeferredDeliveriesError extends Error {
  override name = 'DeferredDeliveriesError';
}

/** What both send queues (notifications, digests) share: settings, Redis, the queue's pause. */
export interface SendQueue {
  config: Config;
  workerRedis: Redis;
  pause: SendPause;
  /** the last refusal of each class, kept by the queue's sender (the configuration hint is read from it) */
  refusals: Map<SendFailure, unknown>;
  /** what the queue's messages are called in the deferral error: 'deliveries', 'digests' */
  noun: string;
}

/** A send queue worker that never takes a job while the queue's rate-limit key is set: BullMQ checks the key only for workers with a limiter. */
const UNLIMITED = { max: 1_000_000_000, duration: 1000 };

/**
 * Acts on one batch's outcome the same way for notifications and digests: a server that is unavailable or
 * refuses our configuration pauses the queue in every process (and the job is retried after the pause);
 * a batch that sent something resets the backoff and records the server as working; deferred messages
 * (4xx) fail the job so BullMQ retries it with backoff. Returns normally when the batch is settled.
 */
export async function settleBatch(queue: SendQueue, log: Logger, outcome: Omit<BatchOutcome, 'lastError'>, lastError: string | undefined): Promise<void> {
  if (outcome.unavailable) {
    const reason: PauseReason = outcome.misconfigured ? 'configuration' : 'server-unavailable';
    const pauseMs = await queue.pause.hold(reason);
    await notePause(queue, log, reason, pauseMs, queue.refusals.get(reason));
    throw Worker.RateLimitError();
  }
  if (outcome.sent > 0) {
    await queue.pause.reset();
    await recordSmtpStatus(queue.workerRedis, queue.config.QUEUE_PREFIX, 'ok');
  }
  if (outcome.deferred > 0) throw new DeferredDeliveriesError(`${outcome.deferred} ${queue.noun} deferred: ${maskAddresses(lastError ?? 'temporary failure')}`);
}

/** Records and logs why the queue pauses: a configuration problem loudly, with what to change. */
async function notePause(queue: SendQueue, log: Logger, reason: PauseReason, pauseMs: number, err: unknown): Promise<void> {
  const { workerRedis, config } = queue;
  const error = err === undefined ? undefined : describeSmtpError(err);
  if (reason === 'configuration') {
    const hint = configurationHint(err);
    if (await recordSmtpStatus(workerRedis, config.QUEUE_PREFIX, 'configuration', { hint, error })) log.error({ hint, err: error }, `SMTP server refuses our configuration: ${hint}`);
  } else {
    await recordSmtpStatus(workerRedis, config.QUEUE_PREFIX, 'unavailable', { error });
  }
  log.warn({ reason, pauseMs, err: error }, 'pausing the send queue in every process');
}

/** The BullMQ options of a send queue worker (notifications or digests). */
export function sendWorkerOptions(config: Config, workerRedis: Redis): WorkerOptions {
  const throttle = sendThrottle(config.SEND_RATE, config.SEND_BATCH_SIZE);
  return {
    connection: workerRedis,
    prefix: config.QUEUE_PREFIX,
    concurrency: config.WORKER_CONCURRENCY,
    lockDuration: config.JOB_LOCK_MS,
    stalledInterval: config.JOB_LOCK_MS,
    // A job stalls when its process dies mid-send; it resumes on its own claims. Failing it after one more
    // stall (BullMQ's default) would leave its deliveries to the reconciler only once their lease expires.
    maxStalledCount: config.SEND_ATTEMPTS,
    // always a limiter: BullMQ checks the queue's rate-limit key (the pause held in Redis) only for workers with one
    limiter: throttle.limiter ?? UNLIMITED,
  };
}
