import { Worker, type Job } from 'bullmq';
import type { BatchOutcome } from '../src/core/delivery.ts';
import { DigestDeliveryService, type DigestSender } from '../src/core/digest-delivery.ts';
import { getDigestRun } from '../src/db/digest-queries.ts';
import { recordDigestOutcome } from '../src/digest-metrics.ts';
import { QUEUE_NAMES, sendThrottle, type DigestSendJob } from '../src/jobs.ts';
import { maskEmail } from '../src/log.ts';
import { recordEmailOutcome } from '../src/metrics.ts';
import type { WorkerContext } from './context.ts';
import { CLAIM_LEASE_SECONDS, SEND_CHUNK } from './delivery-options.ts';
import { finishRunIfDone } from './digest-finish.ts';
import { SendBackoff } from './send-backoff.ts';
import { DeferredDeliveriesError } from './send-worker.ts';

/** What the digest send worker needs: a sender thread builds only this. */
export type DigestSendContext = Pick<WorkerContext, 'config' | 'log' | 'pool' | 'digestMail' | 'workerRedis'>;

/** The digest sender, logging each refused message with its run, delivery and masked address. */
function loggingSender(ctx: DigestSendContext): DigestSender {
  const log = ctx.log.child({ queue: QUEUE_NAMES.digestSend });
  return {
    async send(content, recipient) {
      try {
        await ctx.digestMail.send(content, recipient);
      } catch (err) {
        const failure = ctx.digestMail.classify(err);
        log.warn({ runId: content.runId, deliveryId: recipient.deliveryId, to: maskEmail(recipient.email), failure, err: (err as Error).message }, 'digest not accepted');
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
  const backoff = new SendBackoff(ctx.config.SEND_BACKOFF_MS);
  const processor = async (job: Job<DigestSendJob>): Promise<Omit<BatchOutcome, 'lastError'>> => {
    const attempts = job.opts.attempts ?? 1;
    const { lastError, ...outcome } = await delivery.sendBatch({ ...job.data, claimer: job.id ?? job.name, lastAttempt: job.attemptsMade + 1 >= attempts });
    const log = ctx.log.child({ queue: job.queueName, jobId: job.id, runId: job.data.runId, attempt: job.attemptsMade + 1 });
    const run = await getDigestRun(ctx.pool, job.data.runId);
    recordOutcome(run?.frequency ?? 'unknown', outcome);
    if (outcome.unavailable) {
      const pause = backoff.pause();
      log.warn({ ...outcome, pauseMs: pause, err: lastError }, 'SMTP server unavailable: pausing the digest send queue');
      await worker.rateLimit(pause);
      throw Worker.RateLimitError();
    }
    backoff.reset();
    if (outcome.deferred > 0) throw new DeferredDeliveriesError(`${outcome.deferred} digests deferred: ${lastError ?? 'temporary failure'}`);
    await finishRunIfDone(ctx, job.data.runId);
    return outcome;
  };
  const throttle = sendThrottle(ctx.config.SEND_RATE, ctx.config.SEND_BATCH_SIZE);
  const worker: Worker<DigestSendJob> = new Worker<DigestSendJob>(QUEUE_NAMES.digestSend, processor, {
    connection: ctx.workerRedis,
    prefix: ctx.config.QUEUE_PREFIX,
    concurrency: ctx.config.WORKER_CONCURRENCY,
    lockDuration: ctx.config.JOB_LOCK_MS,
    stalledInterval: ctx.config.JOB_LOCK_MS,
    ...(throttle.limiter ? { limiter: throttle.limiter } : {}),
  });
  return worker;
}
