import { Worker, type Job } from 'bullmq';
import type { BatchOutcome } from '../src/core/delivery.ts';
import { DigestDeliveryService, type DigestSender } from '../src/core/digest-delivery.ts';
import { getDigestRun } from '../src/db/digest-queries.ts';
import { recordDigestOutcome } from '../src/metrics/digest-metrics.ts';
import { QUEUE_NAMES, sendThrottle, type DigestSendJob } from '../src/jobs/jobs.ts';
import { maskEmail } from '../src/log.ts';
import { maskAddresses } from '../src/mail/mask-addresses.ts';
import { describeSmtpError } from '../src/mail/smtp-errors.ts';
import { recordEmailOutcome } from '../src/metrics/metrics.ts';
import type { WorkerContext } from './context.ts';
import { CLAIM_LEASE_SECONDS, SEND_CHUNK } from './delivery-options.ts';
import { finishRunIfDone } from './digest-finish.ts';
import { SendPause } from './send-pause.ts';
import { DeferredDeliveriesError } from './send-worker.ts';

/** What the digest send worker needs: a sender thread builds only this. */
export type DigestSendContext = Pick<WorkerContext, 'config' | 'log' | 'pool' | 'digestMail' | 'workerRedis' | 'mailer'>;

/** The digest sender, logging each refused message with its run, delivery and masked address. */
function loggingSender(ctx: DigestSendContext): DigestSender {
  const log = ctx.log.child({ queue: QUEUE_NAMES.digestSend });
  return {
    async send(content, recipient) {
      try {
        await ctx.digestMail.send(content, recipient);
      } catch (err) {
        const failure = ctx.digestMail.classify(err);
        log.warn({ runId: content.runId, deliveryId: recipient.deliveryId, to: maskEmail(recipient.email), failure, err: describeSmtpError(err) }, 'digest not accepted');
        throw err;
      }
    },
    classify: (err) => ctx.digestMail.classify(err),
  };
}

function recordOutcome(frequency: string, outcome: Omit<BatchOutcome, 'lastError'>): void {
  recordDigestOutcome(frequency, 'sent', outcome.sent);
  recordDigestOutcome(frequency, 'failed', outcome.failed);
  recordDigestOutcome(frequency, 'suppressed', outcome.suppressed);
  recordDigestOutcome(frequency, 'retried', outcome.deferred);
  recordEmailOutcome('digest', 'sent', outcome.sent);
  recordEmailOutcome('digest', 'failed', outcome.failed);
  recordEmailOutcome('digest', 'suppressed', outcome.suppressed);
  recordEmailOutcome('digest', 'retried', outcome.deferred);
}

/** The worker of the digest send queue: one job = one batch of one run's digest deliveries. */
export function createDigestSendWorker(ctx: DigestSendContext): Worker<DigestSendJob> {
  const delivery = new DigestDeliveryService(ctx.pool, loggingSender(ctx), { chunkSize: SEND_CHUNK, claimLeaseSeconds: CLAIM_LEASE_SECONDS });
  const pause = new SendPause(ctx.workerRedis, ctx.config.QUEUE_PREFIX, ctx.config.SEND_BACKOFF_MS, () => ctx.mailer.verify(), ctx.log.child({ queue: QUEUE_NAMES.digestSend }), QUEUE_NAMES.digestSend);
  const processor = async (job: Job<DigestSendJob>): Promise<Omit<BatchOutcome, 'lastError'>> => {
    const attempts = job.opts.attempts ?? 1;
    const { lastError, ...outcome } = await delivery.sendBatch({ ...job.data, claimer: job.id ?? job.name, lastAttempt: job.attemptsMade + 1 >= attempts });
    const log = ctx.log.child({ queue: job.queueName, jobId: job.id, runId: job.data.runId, attempt: job.attemptsMade + 1 });
    const run = await getDigestRun(ctx.pool, job.data.runId);
    recordOutcome(run?.frequency ?? 'unknown', outcome);
    if (outcome.unavailable) {
      const pauseMs = await pause.hold(outcome.misconfigured ? 'configuration' : 'server-unavailable');
      log.warn({ ...outcome, pauseMs, err: lastError && maskAddresses(lastError) }, 'SMTP server unavailable or refusing our configuration: pausing the digest send queue in every process');
      throw Worker.RateLimitError();
    }
    if (outcome.sent > 0) await pause.reset();
    if (outcome.deferred > 0) throw new DeferredDeliveriesError(`${outcome.deferred} digests deferred: ${maskAddresses(lastError ?? 'temporary failure')}`);
    await finishRunIfDone(ctx, job.data.runId);
    return outcome;
  };
  const throttle = sendThrottle(ctx.config.SEND_RATE, ctx.config.SEND_BATCH_SIZE);
  return new Worker<DigestSendJob>(QUEUE_NAMES.digestSend, processor, {
    connection: ctx.workerRedis,
    prefix: ctx.config.QUEUE_PREFIX,
    concurrency: ctx.config.WORKER_CONCURRENCY,
    lockDuration: ctx.config.JOB_LOCK_MS,
    stalledInterval: ctx.config.JOB_LOCK_MS,
    maxStalledCount: ctx.config.SEND_ATTEMPTS,
    // always a limiter: BullMQ checks the queue's rate-limit key (the pause held in Redis) only for workers with one
    limiter: throttle.limiter ?? { max: 1_000_000_000, duration: 1000 },
  });
}
