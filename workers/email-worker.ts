import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import { recordMailOutcome } from '../src/db/console-queries.ts';
import { QUEUE_NAMES, type EmailJob } from '../src/jobs/jobs.ts';
import { maskEmail, type Logger } from '../src/log.ts';
import { maskedErrorMessage, maskSmtpError } from '../src/mail/mask-addresses.ts';
import { classifySmtpError, describeSmtpError } from '../src/mail/smtp-errors.ts';
import { recordEmailOutcome, type EmailKind, type EmailOutcome } from '../src/metrics/metrics.ts';
import type { WorkerContext } from './context.ts';
import { willRetry } from './job-metrics.ts';

const METRIC_KIND: Record<EmailJob['kind'], EmailKind> = {
  confirm: 'confirmation',
  'already-subscribed': 'already-subscribed',
  welcome: 'welcome',
  'manage-link': 'manage-link',
};

const LEDGER_OUTCOME: Record<EmailOutcome, 'sent' | 'failed' | 'deferred' | 'suppressed'> = { sent: 'sent', failed: 'failed', retried: 'deferred', suppressed: 'suppressed' };

/**
 * Counts an outcome in the metric and in PostgreSQL (mail_outcomes_hourly, the console's overview). A failed
 * count is logged, never thrown: after an accepted send a throw would retry the job and send it twice.
 */
async function countOutcome(ctx: WorkerContext, log: Logger, kind: EmailKind, outcome: EmailOutcome): Promise<void> {
  recordEmailOutcome(kind, outcome);
  try {
    await recordMailOutcome(ctx.pool, kind, LEDGER_OUTCOME[outcome]);
  } catch (err) {
    log.warn({ err, kind, outcome }, 'e-mail outcome not counted in PostgreSQL');
  }
}

/** Sends one transactional e-mail: reload, re-check, render, send. */
export function emailProcessor(ctx: WorkerContext) {
  return async (job: Job<EmailJob>, token?: string): Promise<string> => {
    const log = ctx.log.child({ queue: job.queueName, jobId: job.id, attempt: job.attemptsMade + 1 });
    const composed = await ctx.transactional.compose(job.data, job.id ?? job.name);
    const kind = METRIC_KIND[job.data.kind];
    if ('skip' in composed) {
      log.info({ reason: composed.skip }, 'e-mail skipped');
      await countOutcome(ctx, log, kind, 'suppressed');
      return `skipped: ${composed.skip}`;
    }
    try {
      await ctx.mailer.send(composed.send);
    } catch (err) {
      const failure = classifySmtpError(err);
      maskSmtpError(err);
      log.warn({ failure, err: describeSmtpError(err), to: maskEmail(composed.send.to) }, 'e-mail not accepted');
      // Our configuration, not the e-mail: wait for the fix without using up the job's attempts.
      if (failure === 'configuration' && token) {
        await countOutcome(ctx, log, kind, 'retried');
        await job.moveToDelayed(Date.now() + ctx.config.SEND_BACKOFF_MS, token);
        throw new DelayedError();
      }
      const permanent = failure === 'permanent' || failure === 'unknown-user';
      await countOutcome(ctx, log, kind, !permanent && willRetry(job) ? 'retried' : 'failed');
      if (permanent) throw new UnrecoverableError(`rejected: ${maskedErrorMessage(err)}`);
      throw err;
    }
    await countOutcome(ctx, log, kind, 'sent');
    log.info({ kind: job.data.kind, to: maskEmail(composed.send.to) }, 'e-mail sent');
    return 'sent';
  };
}

/** The worker of the transactional e-mail queue. */
export function createEmailWorker(ctx: WorkerContext): Worker<EmailJob> {
  return new Worker<EmailJob>(QUEUE_NAMES.email, emailProcessor(ctx), {
    connection: ctx.workerRedis,
    prefix: ctx.config.QUEUE_PREFIX,
    concurrency: ctx.config.WORKER_CONCURRENCY,
  });
}
