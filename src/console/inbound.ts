import { INBOUND_ATTENTION, INBOUND_KINDS, startOfDay, sumOutcomes, tabulateByKind, CONSOLE_TIME_ZONE } from '../core/overview.ts';
import { INBOUND_OUTCOMES } from '../core/stats.ts';
import { countInboundSince } from '../db/console-queries.ts';
import { listMailboxStatus } from '../db/inbound-queries.ts';
import type { Db } from '../db/pool.ts';
import { route, type RouteSpec } from '../http/route.ts';
import { sendPage, type ConsoleContext } from './context.ts';
import type { ConsoleGuards } from './auth.ts';

/** Mail that came back: counts by kind and outcome (today, 7 days), the mailboxes' last poll and error. */
async function collectInbound(db: Db, now = new Date()) {
  const [today, week, mailboxes] = await Promise.all([
    countInboundSince(db, startOfDay(now, CONSOLE_TIME_ZONE)),
    countInboundSince(db, new Date(now.getTime() - 7 * 86_400_000)),
    listMailboxStatus(db),
  ]);
  const attention = (rows: typeof today) => ({ unrecognised: sumOutcomes(rows, INBOUND_ATTENTION.unrecognised), failed: sumOutcomes(rows, INBOUND_ATTENTION.failed) });
  return {
    today: tabulateByKind(today, INBOUND_KINDS, INBOUND_OUTCOMES),
    week: tabulateByKind(week, INBOUND_KINDS, INBOUND_OUTCOMES),
    attention: { today: attention(today), week: attention(week) },
    mailboxes,
  };
}

/** GET /admin/inbound: bounces, complaints, mailto unsubscribes and what nobody recognised. */
export function inboundRoutes(ctx: ConsoleContext, g: ConsoleGuards): RouteSpec[] {
  const { config } = ctx.deps;
  return [
    route({
      method: 'get',
      path: '/inbound',
      before: g.read,
      handler: async (_i, req, res) => {
        const inbound = await collectInbound(ctx.deps.pool);
        const configured = Boolean(config.INBOUND_IMAP_URL);
        sendPage(ctx, req, res, 'inbound', { title: 'inbound.title', nav: 'inbound' }, { inbound, outcomes: INBOUND_OUTCOMES, configured });
      },
    }),
  ];
}
