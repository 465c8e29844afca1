import { Worker, type Job } from 'bullmq';
import type { BatchOutcome, SendFailure } from '../src/core/delivery.ts';
import { DigestDeliveryService, type DigestSender } from '../src/core/digest-delivery.ts';
import { getDigestRun } from '../src/db/digest-queries.ts';
import { recordDigestOutcome } from '../src/metrics/digest-metrics.ts';
import { QUEUE_NAMES, type DigestSendJob } from '../src/jobs/jobs.ts';
import { maskEmail } from '../src/log.ts';
import { describeSmtpError } from '../src/mail/smtp-errors.ts';
import { recordEmailOutcome } from '../src/metrics/metrics.ts';
import type { WorkerContext } from './context.ts';
import { CLAIM_LEASE_SECONDS, SEND_CHUNK } from './delivery-options.ts';
import { finishRunIfDone } from './digest-finish.ts';
import { SendPause } from './send-pause.ts';
import { settleBatch, sendWorkerOptions } from './send-batch.ts';

/** What the digest send worker needs: a sender thread builds only this. */
export type DigestSendContext = Pick<WorkerContext, 'config' | 'log' | 'pool' | 'digestMail' | 'workerRedis' | 'mailer'>;

/** The digest sender, logging each refused message with its run, delivery and masked address. */
function loggingSender(ctx: DigestSendContext, refusals: Map<SendFailure, unknown>): DigestSender {
  const log = ctx.log.child({ queue: QUEUE_NAMES.digestSend });
  return {
    async send(content, recipient) {
      try {
        await ctx.digestMail.send(content, recipient);
      } catch (err) {
        const failure = ctx.digestMail.classify(err);
        refusals.set(failure, err);
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
  const refusals = new Map<SendFailure, unknown>();
  const delivery = new DigestDeliveryService(ctx.pool, loggingSender(ctx, refusals), { chunkSize: SEND_CHUNK, claimLeaseSeconds: CLAIM_LEASE_SECONDS });
  const pause = new SendPause(ctx.workerRedis, ctx.config.QUEUE_PREFIX, ctx.config.SEND_BACKOFF_MS, () => ctx.mailer.verify(), ctx.log.child({ queue: QUEUE_NAMES.digestSend }), QUEUE_NAMES.digestSend);
  const queue = { config: ctx.config, workerRedis: ctx.workerRedis, pause, refusals, noun: 'digests' };
  const processor = async (job: Job<DigestSendJob>): Promise<Omit<BatchOutcome, 'lastError'>> => {
    const attempts = job.opts.attempts ?? 1;
    const { lastError, ...outcome } = await delivery.sendBatch({ ...job.data, claimer: job.id ?? job.name, lastAttempt: job.attemptsMade + 1 >= attempts });
    const log = ctx.log.child({ queue: job.queueName, jobId: job.id, runId: job.data.runId, attempt: job.attemptsMade + 1 });
    const run = await getDigestRun(ctx.pool, job.data.runId);
    recordOutcome(run?.frequency ?? 'unknown', outcome);
    await settleBatch(queue, log, outcome, lastError);
    await finishRunIfDone(ctx, job.data.runId);
    return outcome;
  };
  return new Worker<DigestSendJob>(QUEUE_NAMES.digestSend, processor, sendWorkerOptions(ctx.config, ctx.workerRedis));
}
