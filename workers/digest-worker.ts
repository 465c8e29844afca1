import { Worker, type Job } from 'bullmq';
import { requeueDigestOrphans, reconcileDigests } from '../src/core/digest-reconcile.ts';
import { runDigestFanout } from '../src/core/digest-fanout.ts';
import { digestCron } from '../src/core/digest-schedule.ts';
import type { DigestFrequency } from '../src/db/digest-queries.ts';
import { finishRunIfDone } from './digest-finish.ts';
import { digestSchedule } from '../src/deps.ts';
import { observeDigestRun } from '../src/metrics/digest-metrics.ts';
import { QUEUE_NAMES, type DigestJob } from '../src/jobs/jobs.ts';
import { digestSchedulerId, digestTickSchedule, upsertSchedule } from '../src/jobs/schedules.ts';
import type { Logger } from '../src/log.ts';
import type { WorkerContext } from './context.ts';
import { deliveryOptions, MAX_FANOUT_PAGE } from './delivery-options.ts';

const FREQUENCIES: readonly DigestFrequency[] = ['daily', 'weekly'];

/** Registers one job scheduler per frequency (cron with DIGEST_TIMEZONE); idempotent: upserted by id in every worker process. */
export async function scheduleDigests(ctx: WorkerContext): Promise<void> {
  const schedule = digestSchedule(ctx.config);
  for (const frequency of FREQUENCIES) {
    await upsertSchedule(ctx.queues.digest, digestTickSchedule(frequency, digestCron(frequency, schedule)));
  }
}

/** Re-registers the digest schedulers when Redis lost them; checked every RECONCILE_INTERVAL_MS. */
export function keepDigestSchedules(ctx: WorkerContext): () => void {
  const timer = setInterval(() => {
    ctx.queues.digest
      .getJobScheduler(digestSchedulerId('daily'))
      .then((found) => (found ? undefined : scheduleDigests(ctx).then(() => ctx.log.warn('digest schedules were missing in Redis: registered again'))))
      .catch((err: Error) => ctx.log.warn({ err: err.message }, 'could not check the digest schedules'));
  }, ctx.config.RECONCILE_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** The reconciler's digest part: creates a missed scheduled run, heals the digest ledger, stamps finished runs. */
export async function reconcileDigestWork(ctx: WorkerContext, log: Logger): Promise<unknown> {
  for (const frequency of FREQUENCIES) {
    const created = await ctx.digests.runDue(frequency, { catchUp: true });
    if (created?.created) log.warn({ runId: created.run.id, frequency, slot: created.run.slot }, 'created a missed scheduled digest run');
  }
  const result = await reconcileDigests(ctx.pool, ctx.digestJobs, deliveryOptions(ctx));
  for (const run of result.finished) observeDigestRun(run.frequency, run.created_at, run.finished_at);
  if (result.fanoutsResumed > 0 || result.batchesRequeued > 0) log.info({ fanoutsResumed: result.fanoutsResumed, batchesRequeued: result.batchesRequeued }, 'reconciled the digest ledger with the queues');
  return { digestFanoutsResumed: result.fanoutsResumed, digestBatchesRequeued: result.batchesRequeued };
}

/** Processes a digest job: a schedule tick creates the due run (once per slot); a fan-out writes a run's ledger. */
export function digestProcessor(ctx: WorkerContext) {
  const options = deliveryOptions(ctx);
  return async (job: Job<DigestJob>): Promise<unknown> => {
    const log = ctx.log.child({ queue: job.queueName, jobId: job.id, attempt: job.attemptsMade + 1 });
    if (job.data.kind === 'tick') {
      const created = await ctx.digests.runDue(job.data.frequency);
      log.info({ frequency: job.data.frequency, runId: created?.run.id, created: created?.created }, 'digest schedule tick');
      return { runId: created?.run.id ?? null, created: created?.created ?? false };
    }
    const runId = job.data.runId;
    const resume = (id: number) => requeueDigestOrphans(ctx.pool, ctx.digestJobs, id, { ...options, minAgeSeconds: 0 });
    const started = Date.now();
    const result = await runDigestFanout(ctx.pool, ctx.digestJobs, runId, { batchSize: options.batchSize, maxPageSize: MAX_FANOUT_PAGE }, resume);
    log.info({ runId, ...result, ms: Date.now() - started }, 'digest fan-out finished');
    if (result.written === 0) await finishRunIfDone(ctx, runId);
    return result;
  };
}

/** The worker of the digest queue. */
export function createDigestWorker(ctx: WorkerContext): Worker<DigestJob> {
  return new Worker<DigestJob>(QUEUE_NAMES.digest, digestProcessor(ctx), {
    connection: ctx.workerRedis,
    prefix: ctx.config.QUEUE_PREFIX,
    concurrency: 2,
    lockDuration: ctx.config.JOB_LOCK_MS,
    stalledInterval: ctx.config.JOB_LOCK_MS,
  });
}
