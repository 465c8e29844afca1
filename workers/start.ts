import type { Worker } from 'bullmq';
import type { Mailer } from '../src/mail/mailer.ts';
import type { Deps } from '../src/deps.ts';
import { startImapPoller } from '../src/inbound/start-poller.ts';
import { createWorkerContext, type WorkerContext } from './context.ts';
import { createEmailWorker } from './email-worker.ts';
import { createFanoutWorker } from './fanout-worker.ts';
import { observeWorker } from './job-metrics.ts';
import { createFeedWorker, keepFeedSchedule, scheduleFeeds } from './feed-worker.ts';
import { createMaintenanceWorker, keepSchedules, scheduleMaintenance } from './maintenance-worker.ts';
import { createSendWorker } from './send-worker.ts';
import { checkSmtpAtStart } from './smtp-check.ts';
import { createDigestSendWorker } from './digest-send-worker.ts';
import { createDigestWorker, keepDigestSchedules, scheduleDigests } from './digest-worker.ts';

/** Running workers and how to stop them. */
export interface RunningWorkers {
  ctx: WorkerContext;
  workers: Worker[];
  /** The start-up check of the SMTP connection: true when it worked. */
  smtpChecked: Promise<boolean>;
  /** Finishes in-flight jobs (no new ones), then closes the mailer and worker connection. */
  close(): Promise<void>;
}

/** Starts the workers of this process on the shared dependencies. */
export async function startWorkers(
  deps: Deps,
  options: { mailer?: Mailer; schedules?: boolean } = {},
): Promise<RunningWorkers> {
  const ctx = await createWorkerContext(deps, options.mailer);
  const workers = [createEmailWorker(ctx), createMaintenanceWorker(ctx), createFeedWorker(ctx), createFanoutWorker(ctx), createSendWorker(ctx), createDigestWorker(ctx), createDigestSendWorker(ctx)] as Worker[];
  for (const worker of workers) observeWorker(worker, ctx.log);
  const schedules = options.schedules !== false;
  if (schedules) {
    await scheduleMaintenance(ctx);
    await scheduleFeeds(ctx);
    await scheduleDigests(ctx);
  }
  const stopSchedules = schedules ? keepSchedules(ctx) : () => undefined;
  const stopFeedSchedule = schedules ? keepFeedSchedule(ctx) : () => undefined;
  // the bounce mailbox is read where the schedules run (one poller per deployment is enough; two are safe)
  const poller = schedules ? startImapPoller(ctx) : null;
  const smtpChecked = checkSmtpAtStart(ctx).catch((err: Error) => {
    ctx.log.warn({ err: err.message }, 'could not record the SMTP check');
    return false;
  });
  const stopDigestSchedule = schedules ? keepDigestSchedules(ctx) : () => undefined;
  return {
    ctx,
    workers,
    smtpChecked,
    async close() {
      stopSchedules();
      stopFeedSchedule();
      stopDigestSchedule();
      await smtpChecked;
      await Promise.all([...workers.map((w) => w.close()), poller?.close()]);
      await ctx.mailer.close();
      await ctx.workerRedis.quit().catch(() => ctx.workerRedis.disconnect());
    },
  };
}
