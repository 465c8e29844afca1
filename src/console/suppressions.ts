import type { Request, Response } from 'express';
import { z } from 'zod';
import { emailProblem } from '../core/email-address.ts';
import { suppressionKey, SuppressionService } from '../core/suppressions.ts';
import { route, type RouteSpec } from '../http/route.ts';
import { consoleLocals } from './auth.ts';
import { consoleLang, sendPage, type ConsoleContext } from './context.ts';
import { consoleHref } from './render.ts';
import type { ConsoleGuards } from './auth.ts';

const listQuery = z.object({ email: z.string().max(320).optional(), page: z.coerce.number().int().min(1).max(100_000).default(1), lang: z.string().optional() });
const liftBody = z.object({ _csrf: z.string(), lang: z.string().optional(), key: z.string().trim().min(1).max(320) });

const PAGE = 50;

/** /admin/suppressions: the hashed list newest first, look-up of an address, lift. */
export function suppressionRoutes(ctx: ConsoleContext, g: ConsoleGuards): RouteSpec[] {
  const service = new SuppressionService(ctx.deps.pool, ctx.deps.log);
  return [
    route({
      method: 'get',
      path: '/suppressions',
      before: g.read,
      query: listQuery,
      handler: async (i, req, res) => {
        const email = i.query.email?.trim() || undefined;
        const problem = email ? emailProblem(email) !== null : false;
        const found = email && !problem ? await service.lookup(email) : null;
        const rows = await service.list(PAGE + 1, (i.query.page - 1) * PAGE);
        res.status(problem ? 400 : 200);
        sendPage(ctx, req, res, 'suppressions', { title: 'suppressions.title', nav: 'suppressions' }, { email, problem, found, looked: Boolean(email && !problem), rows: rows.slice(0, PAGE), page: i.query.page, next: rows.length > PAGE ? i.query.page + 1 : null, prev: i.query.page > 1 ? i.query.page - 1 : null });
      },
    }),
    route({ method: 'post', path: '/suppressions/lift', before: g.act('operator'), body: liftBody, handler: (i, req, res) => lift(ctx, service, req, res, i.body.key) }),
  ];
}

async function lift(ctx: ConsoleContext, service: SuppressionService, req: Request, res: Response, key: string): Promise<void> {
  const lifted = await service.lift(key);
  if (lifted) await ctx.audit.record(consoleLocals(res).actor, 'suppression.lift', { type: 'suppression', id: suppressionKey(key) });
  res.redirect(303, consoleHref('/admin/suppressions', consoleLang(req), { done: lifted ? 'lifted' : 'none' }));
}
