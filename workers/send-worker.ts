import { Worker, type Job } from 'bullmq';
import { DeliveryService, type BatchOutcome, type NotificationSender, type SendFailure } from '../src/core/delivery.ts';
import { QUEUE_NAMES, type SendJob } from '../src/jobs/jobs.ts';
import { maskEmail, type Logger } from '../src/log.ts';
import { describeSmtpError } from '../src/mail/smtp-errors.ts';
import { recordEmailOutcome } from '../src/metrics/metrics.ts';
import type { SendContext } from './context.ts';
import { CLAIM_LEASE_SECONDS, SEND_CHUNK } from './delivery-options.ts';
import { settleBatch, sendWorkerOptions } from './send-batch.ts';
import { SendPause } from './send-pause.ts';

/** A refused send with one readable message (stage and reply once, addresses masked) and nodemailer's fields kept for classifying. */
class SmtpRefusal extends Error {
  override name = 'SmtpRefusal';
}

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
    async send(article, recipient, admit) {
      try {
        await ctx.notifications.send(article, recipient, admit);
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

/** The worker of the send queue: one job = one batch of one article's deliveries. */
export function createSendWorker(ctx: SendContext): Worker<SendJob> {
  const refusals = new Map<SendFailure, unknown>();
  const delivery = new DeliveryService(ctx.pool, refusalKeepingSender(ctx, refusals), { chunkSize: SEND_CHUNK, claimLeaseSeconds: CLAIM_LEASE_SECONDS });
  const pause = new SendPause(ctx.workerRedis, ctx.config.QUEUE_PREFIX, ctx.config.SEND_BACKOFF_MS, () => ctx.mailer.verify(), ctx.log.child({ queue: QUEUE_NAMES.send }));
  const queue = { config: ctx.config, workerRedis: ctx.workerRedis, pause, refusals, noun: 'deliveries' };
  const processor = async (job: Job<SendJob>): Promise<Omit<BatchOutcome, 'lastError'>> => {
    const started = Date.now();
    const attempts = job.opts.attempts ?? 1;
    const { lastError, ...outcome } = await delivery.sendBatch({ ...job.data, claimer: job.id ?? job.name, lastAttempt: job.attemptsMade + 1 >= attempts });
    const log = ctx.log.child({ queue: job.queueName, jobId: job.id, articleId: job.data.articleId, attempt: job.attemptsMade + 1 });
    recordSendOutcome(outcome);
    logRefusals(log, outcome, lastError);
    await settleBatch(queue, log, outcome, lastError);
    log.debug({ ...outcome, ms: Date.now() - started }, 'send batch done');
    return outcome;
  };
  return new Worker<SendJob>(QUEUE_NAMES.send, processor, sendWorkerOptions(ctx.config, ctx.workerRedis));
}
