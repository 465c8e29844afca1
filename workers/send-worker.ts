import { Worker, type Job } from 'bullmq';
import { DeliveryService, type BatchOutcome, type NotificationSender, type SendFailure } from '../src/core/delivery.ts';
import { QUEUE_NAMES, sendThrottle, type SendJob } from '../src/jobs/jobs.ts';
import { maskEmail, type Logger } from '../src/log.ts';
import { maskAddresses } from '../src/mail/mask-addresses.ts';
import { configurationHint, describeSmtpError } from '../src/mail/smtp-errors.ts';
import { recordSmtpStatus } from '../src/mail/smtp-status.ts';
import { recordEmailOutcome } from '../src/metrics/metrics.ts';
import type { SendContext } from './context.ts';
import { CLAIM_LEASE_SECONDS, SEND_CHUNK } from './delivery-options.ts';
import { SendPause, type PauseReason } from './send-pause.ts';

/** Deliveries deferred by a 4xx: the job is retried with exponential backoff (its sent ones are not resent). */
export class DeferredDeliveriesError extends Error {
  override name = 'DeferredDeliveriesError';
}

/** A refused send with one readable message (stage and reply once, addresses masked) and nodemailer's fields kept for classifying. */
class SmtpRefusal extends Error {
  override name = 'SmtpRefusal';
}

/** A send queue worker that never takes a job while the queue's rate-limit key is set: BullMQ checks the key only for workers with a limiter. */
const UNLIMITED = { max: 1_000_000_000, duration: 1000 };

/** Counts a batch's notifications for /metrics: deferred ones (4xx, server unavailable) will be tried again. */
function recordSendOutcome(outcome: Omit<BatchOutcome, 'lastError'>): void {
  recordEmailOutcome('notification', 'sent', outcome.sent);
  recordEmailOutcome('notification', 'failed', outcome.failed);
  recordEmailOutcome('notification', 'suppressed', outcome.suppressed);
  recordEmailOutcome('notification', 'retried', outcome.deferred);
}

/** The notification sender; refusals get a clean message, and the last one of each class is kept for the batch's log line. */
function refusalKeepingSender(ctx: SendContext, last: Map<SendFailure, unknown>): NotificationSender {
  const log = ctx.log.child({ queue: QUEUE_NAMES.send });
  return {
    async send(article, recipient) {
      try {
        await ctx.notifications.send(article, recipient);
      } catch (err) {
        const failure = ctx.notifications.classify(err);
        last.set(failure, err);
        // per message only at debug level: the warning is one line per batch (logRefusals)
        log.debug({ articleId: article.id, deliveryId: recipient.deliveryId, to: maskEmail(recipient.email), failure, err: describeSmtpError(err) }, 'notification not accepted');
        // every message queued behind this one would get the same answer: fail them now, not one by one
        if (failure === 'configuration' || failure === 'server-unavailable') ctx.mailer.abortWaiting?.(err);
        throw Object.assign(new SmtpRefusal(describeSmtpError(err)), pickSmtpFields(err));
      }
    },
    classify: (err) => ctx.notifications.classify(err),
  };
}

function pickSmtpFields(err: unknown): Record<string, unknown> {
  const { code, originalCode, responseCode, response, command } = (err ?? {}) as Record<string, unknown>;
  return { code, originalCode, responseCode, response, command };
}

/** One warning per batch with refusals (not one per message): counts by class and the last reply. */
function logRefusals(log: Logger, outcome: Omit<BatchOutcome, 'lastError'>, lastError: string | undefined): void {
  if (!outcome.refusals) return;
  log.warn({ refusals: outcome.refusals, sent: outcome.sent, failed: outcome.failed, deferred: outcome.deferred, lastError }, 'notifications not accepted');
}

/** Records and logs why the queue pauses: a configuration problem loudly, with what to change. */
async function notePause(ctx: SendContext, log: Logger, reason: PauseReason, pauseMs: number, err: unknown): Promise<void> {
  const error = err === undefined ? undefined : describeSmtpError(err);
  if (reason === 'configuration') {
    const hint = configurationHint(err);
    if (await recordSmtpStatus(ctx.workerRedis, ctx.config.QUEUE_PREFIX, 'configuration', { hint, error })) log.error({ hint, err: error }, `SMTP server refuses our configuration: ${hint}`);
  } else {
    await recordSmtpStatus(ctx.workerRedis, ctx.config.QUEUE_PREFIX, 'unavailable', { error });
  }
  log.warn({ reason, pauseMs, err: error }, 'pausing the send queue in every process');
}

/** The worker of the send queue: one job = one batch of one article's deliveries. */
export function createSendWorker(ctx: SendContext): Worker<SendJob> {
  const last = new Map<SendFailure, unknown>();
  const delivery = new DeliveryService(ctx.pool, refusalKeepingSender(ctx, last), { chunkSize: SEND_CHUNK, claimLeaseSeconds: CLAIM_LEASE_SECONDS });
  const pause = new SendPause(ctx.workerRedis, ctx.config.QUEUE_PREFIX, ctx.config.SEND_BACKOFF_MS, () => ctx.mailer.verify(), ctx.log.child({ queue: QUEUE_NAMES.send }));
  const processor = async (job: Job<SendJob>): Promise<Omit<BatchOutcome, 'lastError'>> => {
    const started = Date.now();
    const attempts = job.opts.attempts ?? 1;
    const { lastError, ...outcome } = await delivery.sendBatch({ ...job.data, claimer: job.id ?? job.name, lastAttempt: job.attemptsMade + 1 >= attempts });
    const log = ctx.log.child({ queue: job.queueName, jobId: job.id, articleId: job.data.articleId, attempt: job.attemptsMade + 1 });
    recordSendOutcome(outcome);
    logRefusals(log, outcome, lastError);
    if (outcome.unavailable) {
      const reason: PauseReason = outcome.misconfigured ? 'configuration' : 'server-unavailable';
      const pauseMs = await pause.hold(reason);
      await notePause(ctx, log, reason, pauseMs, last.get(reason));
      throw Worker.RateLimitError();
    }
    if (outcome.sent > 0) {
      await pause.reset();
      await recordSmtpStatus(ctx.workerRedis, ctx.config.QUEUE_PREFIX, 'ok');
    }
    if (outcome.deferred > 0) throw new DeferredDeliveriesError(`${outcome.deferred} deliveries deferred: ${maskAddresses(lastError ?? 'temporary failure')}`);
    log.debug({ ...outcome, ms: Date.now() - started }, 'send batch done');
    return outcome;
  };
  const throttle = sendThrottle(ctx.config.SEND_RATE, ctx.config.SEND_BATCH_SIZE);
  return new Worker<SendJob>(QUEUE_NAMES.send, processor, {
    connection: ctx.workerRedis,
    prefix: ctx.config.QUEUE_PREFIX,
    concurrency: ctx.config.WORKER_CONCURRENCY,
    lockDuration: ctx.config.JOB_LOCK_MS,
    stalledInterval: ctx.config.JOB_LOCK_MS,
    // A job stalls when its process dies mid-send; it resumes on its own claims. Failing it after one more
    // stall (BullMQ's default) would leave its deliveries to the reconciler only once their lease expires.
    maxStalledCount: ctx.config.SEND_ATTEMPTS,
    limiter: throttle.limiter ?? UNLIMITED,
  });
}
