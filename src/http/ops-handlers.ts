import type { Request, Response } from 'express';
import { readCanarySuccess } from '../metrics/canary.ts';
import { retryFailedDeliveries } from '../core/delivery-retry.ts';
import { collectGaugeCounts, collectStats } from '../core/stats.ts';
import type { Deps } from '../deps.ts';
import { notFound } from '../errors.ts';
import { QueueRetrySendJobs } from '../jobs/jobs.ts';
import { readSmtpStatus } from '../mail/smtp-status.ts';
import { canaryLastSuccess, registry, smtpProblem, renderMetrics, setDatabaseGauges, setQueueGauges, type DatabaseSnapshot } from '../metrics/metrics.ts';
import { bullQueueInspector, readAllQueueStats } from '../jobs/queue-stats.ts';
import { presentStats } from './presenters-ops.ts';
import { setDigestGauges } from '../metrics/digest-metrics.ts';
import { digestSchedule } from '../deps.ts';

/** How long the PostgreSQL part of a scrape is reused: several Prometheus servers must not multiply queries. */
const DATABASE_SNAPSHOT_TTL_MS = 5_000;

/** Reads the PostgreSQL gauges at most once per TTL. */
function databaseSnapshots(deps: Deps) {
  let cached: { at: number; snapshot: Promise<DatabaseSnapshot> } | null = null;
  return (): Promise<DatabaseSnapshot> => {
    if (!cached || Date.now() - cached.at > DATABASE_SNAPSHOT_TTL_MS) {
      const snapshot: Promise<DatabaseSnapshot> = collectGaugeCounts(deps.pool);
      cached = { at: Date.now(), snapshot };
      snapshot.catch(() => (cached = null));
    }
    return cached.snapshot;
  };
}

/** Handlers of the operators' console: metrics, stats and queue actions. */
export function opsHandlers(deps: Deps) {
  const snapshot = databaseSnapshots(deps);
  return {
    /** GET /metrics: Prometheus text format; queue and database gauges are read now. */
    async metrics(_req: Request, res: Response) {
      const prefix = deps.config.QUEUE_PREFIX;
      const [queues, db, canary, smtp] = await Promise.all([readAllQueueStats(deps.queues), snapshot(), readCanarySuccess(deps.redis, prefix), readSmtpStatus(deps.redis, prefix)]);
      setQueueGauges(queues);
      setDatabaseGauges(db);
      if (canary) canaryLastSuccess.set(canary.getTime() / 1000);
      for (const problem of ['unavailable', 'configuration'] as const) smtpProblem.set({ problem }, smtp?.state === problem ? 1 : 0);
      await setDigestGauges(deps.pool, digestSchedule(deps.config));
      res.type(registry.contentType).send(await renderMetrics());
    },

    /** GET /api/stats, with the SMTP server's state as the workers last saw it */
    async stats(_req: Request, res: Response) {
      const [stats, smtp] = await Promise.all([collectStats(deps.pool, bullQueueInspector(deps.queues)), readSmtpStatus(deps.redis, deps.config.QUEUE_PREFIX)]);
      res.json({ ...presentStats(stats), smtp: smtp ?? { state: 'unknown' } });
    },

    /** POST /api/articles/:id/retry: failed deliveries (never suppressed ones) back to pending, send jobs enqueued. */
    async retryArticle(_req: Request, res: Response, id: number) {
      if (!(await deps.articles.get(id))) throw notFound('Article');
      const result = await retryFailedDeliveries(deps.pool, new QueueRetrySendJobs(deps.queues), id, deps.config.SEND_BATCH_SIZE);
      res.status(202).json({ articleId: id, requeued: result.requeued, jobs: result.jobs });
    },

    /** POST /api/queues/:name/pause and /resume: every worker of the queue stops (resumes) taking jobs. */
    async setPaused(_req: Request, res: Response, name: string, paused: boolean) {
      const queue = deps.queues.byName(name);
      if (!queue) throw notFound('Queue');
      if (paused) await queue.pause();
      else await queue.resume();
      res.json({ queue: name, paused: await queue.isPaused() });
    },
  };
}
