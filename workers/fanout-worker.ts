import { Worker, type Job } from 'bullmq';
import { runFanout, type FanoutResult } from '../src/core/fanout.ts';
import { requeueOrphans } from '../src/core/reconcile.ts';
import { QUEUE_NAMES, type FanoutJob } from '../src/jobs/jobs.ts';
import type { WorkerContext } from './context.ts';
import { deliveryOptions, MAX_FANOUT_PAGE } from './delivery-options.ts';

/** Writes an article's delivery ledger and queues its send batches; resumes from the article's cursor. */
export function fanoutProcessor(ctx: WorkerContext) {
  const options = deliveryOptions(ctx);
  return async (job: Job<FanoutJob>): Promise<FanoutResult> => {
    const log = ctx.log.child({ queue: job.queueName, jobId: job.id, attempt: job.attemptsMade + 1 });
    const resume = (articleId: number) => requeueOrphans(ctx.pool, ctx.deliveryJobs, articleId, { ...options, minAgeSeconds: 0 });
    const started = Date.now();
    const result = await runFanout(ctx.pool, ctx.deliveryJobs, job.data.articleId, { batchSize: options.batchSize, maxPageSize: MAX_FANOUT_PAGE }, resume);
    log.info({ articleId: job.data.articleId, ...result, ms: Date.now() - started }, 'fan-out finished');
    return result;
  };
}

/** The worker of the fan-out queue. */
export function createFanoutWorker(ctx: WorkerContext): Worker<FanoutJob> {
  return new Worker<FanoutJob>(QUEUE_NAMES.fanout, fanoutProcessor(ctx), {
    connection: ctx.workerRedis,
    prefix: ctx.config.QUEUE_PREFIX,
    concurrency: 2,
    lockDuration: ctx.config.JOB_LOCK_MS,
    stalledInterval: ctx.config.JOB_LOCK_MS,
  });
}
