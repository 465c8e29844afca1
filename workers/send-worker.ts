import { Worker, type Job } from 'bullmq';
import { DeliveryService, type BatchOutcome, type NotificationSender } from '../src/core/delivery.ts';
import { QUEUE_NAMES, sendThrottle, type SendJob } from '../src/jobs.ts';
import { maskEmail } from '../src/log.ts';
import { recordEmailOutcome } from '../src/metrics.ts';
import type { SendContext } from './context.ts';
import { CLAIM_LEASE_SECONDS, SEND_CHUNK } from './delivery-options.ts';
import { SendBackoff } from './send-backoff.ts';

/** Deliveries deferred by a 4xx: the job is retried with exponential backoff (its sent ones are not resent). */
export class DeferredDeliveriesError extends Error {
  override name = 'DeferredDeliveriesError';
}

/** Counts a batch's notifications for /metrics: deferred ones (4xx, server unavailable) will be tried again. */
function recordSendOutcome(outcome: Omit<BatchOutcome, 'lastError'>): void {
  recordEmailOutcome('notification', 'sent', outcome.sent);
  recordEmailOutcome('notification', 'failed', outcome.failed);
  recordEmailOutcome('notification', 'suppressed', outcome.suppressed);
  recordEmailOutcome('notification', 'retried', outcome.deferred);
}

/** The notification sender, logging each refused message with its article, delivery and masked address. */
function loggingSender(ctx: SendContext): NotificationSender {
  const log = ctx.log.child({ queue: QUEUE_NAMES.send });
  return {
    async send(article, recipient) {
      try {
        await ctx.notifications.send(article, recipient);
      } catch (err) {
        const failure = ctx.notifications.classify(err);
        log.warn({ articleId: article.id, deliveryId: recipient.deliveryId, to: maskEmail(recipient.email), failure, err: (err as Error).message }, 'notification not accepted');
        throw err;
      }
    },
    classify: (err) => ctx.notifications.classify(err),
  };
}

/** The worker of the send queue: one job = one batch of one article's deliveries. */
export function createSendWorker(ctx: SendContext): Worker<SendJob> {
  const delivery = new DeliveryService(ctx.pool, loggingSender(ctx), { chunkSize: SEND_CHUNK, claimLeaseSeconds: CLAIM_LEASE_SECONDS });
  const backoff = new SendBackoff(ctx.config.SEND_BACKOFF_MS);
  const processor = async (job: Job<SendJob>): Promise<Omit<BatchOutcome, 'lastError'>> => {
    const started = Date.now();
    const attempts = job.opts.attempts ?? 1;
    const { lastError, ...outcome } = await delivery.sendBatch({ ...job.data, claimer: job.id ?? job.name, lastAttempt: job.attemptsMade + 1 >= attempts });
    const log = ctx.log.child({ queue: job.queueName, jobId: job.id, articleId: job.data.articleId, attempt: job.attemptsMade + 1 });
    recordSendOutcome(outcome);
    if (outcome.unavailable) {
      const pause = backoff.pause();
      log.warn({ ...outcome, pauseMs: pause, consecutivePauses: backoff.consecutive, err: lastError }, 'SMTP server unavailable: pausing the send queue');
      await worker.rateLimit(pause);
      throw Worker.RateLimitError();
    }
    backoff.reset();
    if (outcome.deferred > 0) throw new DeferredDeliveriesError(`${outcome.deferred} deliveries deferred: ${lastError ?? 'temporary failure'}`);
    log.debug({ ...outcome, ms: Date.now() - started }, 'send batch done');
    return outcome;
  };
  const throttle = sendThrottle(ctx.config.SEND_RATE, ctx.config.SEND_BATCH_SIZE);
  const worker: Worker<SendJob> = new Worker<SendJob>(QUEUE_NAMES.send, processor, {
    connection: ctx.workerRedis,
    prefix: ctx.config.QUEUE_PREFIX,
    concurrency: ctx.config.WORKER_CONCURRENCY,
    lockDuration: ctx.config.JOB_LOCK_MS,
    stalledInterval: ctx.config.JOB_LOCK_MS,
    // A job stalls when its process dies mid-send; it resumes on its own claims. Failing it after one more
    // stall (BullMQ's default) would leave its deliveries to the reconciler only once their lease expires.
    maxStalledCount: ctx.config.SEND_ATTEMPTS,
    ...(throttle.limiter ? { limiter: throttle.limiter } : {}),
  });
  return worker;
}
