import { z } from 'zod';
import { CONSOLE_TIME_ZONE, INBOUND_ATTENTION, MAIL_KINDS, MAIL_OUTCOMES, startOfDay, subscriberChangeRows, sumOutcomes, tabulateByKind } from '../core/overview.ts';
import { SUBSCRIBER_STATUSES, withAllStatuses, type QueueInspector } from '../core/stats.ts';
import { countInboundSince, countMailOutcomesSince, countSubscriberChanges } from '../db/console-queries.ts';
import { listMailboxStatus } from '../db/inbound-queries.ts';
import type { Db } from '../db/pool.ts';
import { countSubscribersByStatus, listFeeds, listRecentArticlesProgress } from '../db/stats-queries.ts';
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

/** What the overview shows: e-mails by kind, subscribers and their changes, queues, feeds, articles, inbound mail. */
async function collectOverview(db: Db, queues: QueueInspector, now = new Date()) {
  const today = startOfDay(now, CONSOLE_TIME_ZONE);
  const week = new Date(now.getTime() - 7 * 86_400_000);
  const [byStatus, changes, mailToday, mailWeek, inboundToday, inboundWeek, mailboxes, queueStats, feeds, articles] = await Promise.all([
    countSubscribersByStatus(db),
    countSubscriberChanges(db, today, week),
    countMailOutcomesSince(db, today),
    countMailOutcomesSince(db, week),
    countInboundSince(db, today),
    countInboundSince(db, week),
    listMailboxStatus(db),
    queues.readAll(),
    listFeeds(db),
    listRecentArticlesProgress(db, 5),
  ]);
  const attention = (rows: typeof inboundToday) => ({ unrecognised: sumOutcomes(rows, INBOUND_ATTENTION.unrecognised), failed: sumOutcomes(rows, INBOUND_ATTENTION.failed) });
  return {
    mail: { today: tabulateByKind(mailToday, MAIL_KINDS, MAIL_OUTCOMES), week: tabulateByKind(mailWeek, MAIL_KINDS, MAIL_OUTCOMES) },
    subscribers: { byStatus: withAllStatuses(byStatus, SUBSCRIBER_STATUSES), changes: subscriberChangeRows(changes) },
    inbound: { today: attention(inboundToday), week: attention(inboundWeek), mailboxes },
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
        sendPage(ctx, req, res, 'overview', { title: 'overview.title', nav: 'overview' }, { stats, articles, outcomes: MAIL_OUTCOMES, grafanaUrl: ctx.deps.config.GRAFANA_URL });
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
