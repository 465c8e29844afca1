import { z } from 'zod';
import { collectStats } from '../core/stats.ts';
import { route, type RouteSpec } from '../http/route.ts';
import { bullQueueInspector } from '../queue-stats.ts';
import { sendPage, type ConsoleContext } from './context.ts';
import type { ConsoleGuards } from './router.ts';

const auditQuery = z.object({
  before: z.coerce.number().int().positive().optional(),
  type: z.string().max(40).optional(),
  id: z.string().max(100).optional(),
  lang: z.string().optional(),
});

const AUDIT_PAGE = 50;

/** GET /admin (overview) and /admin/audit. */
export function consolePageRoutes(ctx: ConsoleContext, g: ConsoleGuards): RouteSpec[] {
  const inspector = bullQueueInspector(ctx.deps.queues);
  return [
    route({
      method: 'get',
      path: '/',
      before: g.read,
      handler: async (_i, req, res) => {
        const stats = await collectStats(ctx.deps.pool, inspector);
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
