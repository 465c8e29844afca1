import type { Request, Response } from 'express';
import type { DigestRunView } from '../core/digests.ts';
import type { Deps } from '../deps.ts';
import { notFound } from '../errors.ts';

/** A digest run as the admin API shows it, with its ledger counts. */
export function presentDigestRun(view: DigestRunView) {
  const { run } = view;
  return {
    id: run.id,
    frequency: run.frequency,
    trigger: run.trigger,
    slot: run.slot,
    scheduledFor: run.scheduled_for,
    periodStart: run.period_start,
    periodEnd: run.period_end,
    articles: run.articles,
    fanoutStatus: run.fanout_status,
    createdAt: run.created_at,
    finishedAt: run.finished_at,
    delivery: view.delivery,
  };
}

/** Handlers of the operators' digest API. */
export function digestHandlers(deps: Deps) {
  return {
    /** POST /api/digests/run: a run now for everything since the previous run's period end → 202. */
    async run(_req: Request, res: Response, body: { frequency: 'daily' | 'weekly' }) {
      const run = await deps.digests.runNow(body.frequency);
      res.status(202).json({ id: run.id, frequency: run.frequency, periodStart: run.period_start, periodEnd: run.period_end, articles: run.articles });
    },

    /** GET /api/digests: recent runs, newest first. */
    async list(_req: Request, res: Response, query: { limit: number }) {
      res.json((await deps.digests.list(query.limit)).map(presentDigestRun));
    },

    /** GET /api/digests/:id */
    async get(_req: Request, res: Response, id: number) {
      const view = await deps.digests.get(id);
      if (!view) throw notFound('Digest run');
      res.json(presentDigestRun(view));
    },
  };
}
