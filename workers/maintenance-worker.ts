import { Worker, type Job } from 'bullmq';
import { reconcile } from '../src/core/reconcile.ts';
import { QUEUE_NAMES, type MaintenanceJob } from '../src/jobs/jobs.ts';
import { expirePendingSchedule, RECONCILE_SCHEDULER_ID, reconcileSchedule, upsertSchedule } from '../src/jobs/schedules.ts';
import { scheduleCanary, sendCanary } from './canary.ts';
import type { WorkerContext } from './context.ts';
import { deliveryOptions } from './delivery-options.ts';
import { reconcileDigestWork } from './digest-worker.ts';

/** Registers the housekeeping schedules (idempotent: job schedulers are upserted by id). */
export async function scheduleMaintenance(ctx: WorkerContext): Promise<void> {
  await upsertSchedule(ctx.queues.maintenance, reconcileSchedule(ctx.config.RECONCILE_INTERVAL_MS));
  await upsertSchedule(ctx.queues.maintenance, expirePendingSchedule());
  await scheduleCanary(ctx);
}

/** Runs one housekeeping task. */
export function maintenanceProcessor(ctx: WorkerContext) {
  return async (job: Job<MaintenanceJob>): Promise<unknown> => {
    const log = ctx.log.child({ queue: job.queueName, jobId: job.id });
    if (job.data.task === 'expire-pending') {
      const deleted = await ctx.subscriptions.expirePending();
      if (deleted > 0) log.info({ deleted }, 'deleted unconfirmed subscriptions');
      const manageLinkRequests = await ctx.manageLinks.deleteOldRequests();
      return { deleted, manageLinkRequests };
    }
    if (job.data.task === 'reconcile') {
      const result = await reconcile(ctx.pool, ctx.deliveryJobs, deliveryOptions(ctx));
      if (result.fanoutsResumed > 0 || result.batchesRequeued > 0) log.info(result, 'reconciled the delivery ledger with the queues');
      return { ...result, ...((await reconcileDigestWork(ctx, log)) as object) };
    }
    if (job.data.task === 'canary') return sendCanary(ctx);
    return { skipped: job.data.task };
  };
}

/** The worker of the maintenance queue. */
export function createMaintenanceWorker(ctx: WorkerContext): Worker<MaintenanceJob> {
  return new Worker<MaintenanceJob>(QUEUE_NAMES.maintenance, maintenanceProcessor(ctx), {
    connection: ctx.workerRedis,
    prefix: ctx.config.QUEUE_PREFIX,
    concurrency: 1,
  });
}

/** Re-registers the schedules when Redis lost them (data loss, flush); checked every RECONCILE_INTERVAL_MS by each worker process. */
export function keepSchedules(ctx: WorkerContext): () => void {
  const timer = setInterval(() => {
    ctx.queues.maintenance
      .getJobScheduler(RECONCILE_SCHEDULER_ID)
      .then((found) => (found ? undefined : scheduleMaintenance(ctx).then(() => ctx.log.warn('maintenance schedules were missing in Redis: registered again'))))
      .catch((err: Error) => ctx.log.warn({ err: err.message }, 'could not check the maintenance schedules'));
  }, ctx.config.RECONCILE_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
