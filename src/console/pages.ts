import { z } from 'zod';
import { DELIVERY_STATUSES, SUBSCRIBER_STATUSES, withAllStatuses, type QueueInspector } from '../core/stats.ts';
import type { Db } from '../db/pool.ts';
import { countDeliveriesByStatus, countSubscribersByStatus, listFeeds, listRecentArticlesProgress } from '../db/stats-queries.ts';
import { route, type RouteSpec } from '../http/route.ts';
import { bullQueueInspector } from '../jobs/queue-stats.ts';
import { sendPage, type ConsoleContext } from './context.ts';
import type { ConsoleGuards } from './auth.ts';

const auditQuery = z.object({
  before: z.coerce.number().int().positive().optional(),
  type: z.string().max(40).optional(),
  id: z.string().max(100).optional(),
  lang: z.string().optional(),
});

const AUDIT_PAGE = 50;

/** What the overview shows: collectStats without the per-section counts (those are on /admin/topics). */
async function collectOverview(db: Db, queues: QueueInspector, now = new Date()) {
  const since = (days: number) => new Date(now.getTime() - days * 86_400_000);
  const [byStatus, last24h, last7d, queueStats, feeds, articles] = await Promise.all([
    countSubscribersByStatus(db),
    countDeliveriesByStatus(db, since(1)),
    countDeliveriesByStatus(db, since(7)),
    queues.readAll(),
    listFeeds(db),
    listRecentArticlesProgress(db, 5),
  ]);
  return {
    subscribers: { byStatus: withAllStatuses(byStatus, SUBSCRIBER_STATUSES) },
    deliveries: { last24h: withAllStatuses(last24h, DELIVERY_STATUSES), last7d: withAllStatuses(last7d, DELIVERY_STATUSES) },
    queues: queueStats,
    feeds,
    articles,
  };
}

/** GET /admin (overview) and /admin/audit. */
export function consolePageRoutes(ctx: ConsoleContext, g: ConsoleGuards): RouteSpec[] {
  const inspector = bullQueueInspector(ctx.deps.queues);
  return [
    route({
      method: 'get',
      path: '/',
      before: g.read,
      handler: async (_i, req, res) => {
        const stats = await collectOverview(ctx.deps.pool, inspector);
        const articles = stats.articles.map((a) => ({ ...a, done: a.sent + a.failed + a.suppressed }));
        sendPage(ctx, req, res, 'overview', { title: 'overview.title', nav: 'overview' }, { stats, articles, grafanaUrl: ctx.deps.config.GRAFANA_URL });
      },
    }),
    route({
      method: 'get',
      path: '/audit',
      before: g.read,
      query: auditQuery,
      handler: async (i, req, res) => {
        const entries = await ctx.audit.list(AUDIT_PAGE + 1, i.query.before, { type: i.query.type || undefined, id: i.query.id || undefined });
        const page = entries.slice(0, AUDIT_PAGE);
        const older = entries.length > AUDIT_PAGE ? page[page.length - 1]!.id : null;
        sendPage(ctx, req, res, 'audit', { title: 'audit.title', nav: 'audit' }, { entries: page.map((e) => ({ ...e, detailText: JSON.stringify(e.detail) })), older, filter: i.query });
      },
    }),
  ];
}
