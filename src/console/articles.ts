import type { Request, Response } from 'express';
import { z } from 'zod';
import { retryFailedDeliveries } from '../core/delivery-retry.ts';
import { listArticleFailures } from '../db/console-queries.ts';
import { listRecentArticlesProgress } from '../db/stats-queries.ts';
import { listTopics } from '../db/topic-queries.ts';
import { notFound } from '../errors.ts';
import { asAppError } from '../http/domain-errors.ts';
import { route, type RouteSpec } from '../http/route.ts';
import { articleSchema } from '../http/schemas.ts';
import { parseInput } from '../http/validate.ts';
import { QueueRetrySendJobs } from '../jobs/jobs.ts';
import { maskEmail } from '../log.ts';
import { consoleLocals } from './auth.ts';
import { consoleLang, sendPage, type ConsoleContext } from './context.ts';
import { consoleHref } from './render.ts';
import type { ConsoleGuards } from './auth.ts';

const idParams = z.object({ id: z.coerce.number().int().positive() });
const plainBody = z.object({ _csrf: z.string(), lang: z.string().optional() });
const publishBody = z.object({
  _csrf: z.string(),
  lang: z.string().optional(),
  url: z.string().max(2000),
  title: z.string().max(600),
  summary: z.string().max(5000).optional(),
  articleLang: z.enum(['pl', 'en']).optional(),
  topics: z.union([z.string(), z.array(z.string())]).optional(),
});

const LIST = 50;
const ADDRESS = /[^\s<>"',;:()]+@[^\s<>"',;:()]+/g;

/** An error text with every address in it masked (a***@example.pl). */
export function maskAddresses(text: string): string {
  return text.replace(ADDRESS, (m) => maskEmail(m));
}

/** /admin/articles: list, one article's ledger with retry and pause/resume, and the publish form. */
export function articleRoutes(ctx: ConsoleContext, g: ConsoleGuards): RouteSpec[] {
  const h = articleHandlers(ctx);
  return [
    route({ method: 'get', path: '/articles', before: g.read, handler: (_i, req, res) => h.list(req, res) }),
    route({ method: 'get', path: '/articles/new', before: g.read, handler: (_i, req, res) => h.showForm(req, res) }),
    route({ method: 'post', path: '/articles/new', before: g.act('operator'), body: publishBody, handler: (i, req, res) => h.publish(req, res, i.body) }),
    route({ method: 'get', path: '/articles/:id', before: g.read, params: idParams, handler: (i, req, res) => h.show(req, res, i.params.id) }),
    route({ method: 'post', path: '/articles/:id/retry', before: g.act('operator'), params: idParams, body: plainBody, handler: (i, req, res) => h.retry(req, res, i.params.id) }),
    route({ method: 'post', path: '/articles/:id/pause', before: g.act('operator'), params: idParams, body: plainBody, handler: (i, req, res) => h.setPaused(req, res, i.params.id, true) }),
    route({ method: 'post', path: '/articles/:id/resume', before: g.act('operator'), params: idParams, body: plainBody, handler: (i, req, res) => h.setPaused(req, res, i.params.id, false) }),
  ];
}

function articleHandlers(ctx: ConsoleContext) {
  const { pool, articles, queues, config } = ctx.deps;
  const back = (req: Request, res: Response, id: number, done: string) => res.redirect(303, consoleHref(`/admin/articles/${id}`, consoleLang(req), { done }));
  const formPage = async (req: Request, res: Response, data: Record<string, unknown>) => {
    sendPage(ctx, req, res, 'article-form', { title: 'articleForm.title', nav: 'articles' }, { topics: await listTopics(pool), ...data });
  };

  return {
    /** The newest articles with their fan-out state and delivery counts. */
    async list(req: Request, res: Response) {
      const rows = await listRecentArticlesProgress(pool, LIST);
      sendPage(ctx, req, res, 'articles', { title: 'articles.title', nav: 'articles' }, { articles: rows.map((a) => ({ ...a, done: a.sent + a.failed + a.suppressed })) });
    },

    /** One article: counts, failures by reason (addresses masked), the send queue's state, actions. */
    async show(req: Request, res: Response, id: number) {
      const article = await articles.get(id);
      if (!article) throw notFound('Article');
      const [counts, failures, paused] = await Promise.all([articles.deliveryCounts(id), listArticleFailures(pool, id), queues.send.isPaused()]);
      const groups = failures.map((f) => ({ reason: maskAddresses(f.reason), count: f.count, examples: (f.emails ?? []).map(maskEmail) }));
      sendPage(ctx, req, res, 'article', { title: 'article.title', nav: 'articles' }, { article, counts, groups, paused, pauseAction: paused ? '/resume' : '/pause' });
    },

    /** Sends the failed deliveries again (suppressed ones stay). */
    async retry(req: Request, res: Response, id: number) {
      if (!(await articles.get(id))) throw notFound('Article');
      const result = await retryFailedDeliveries(pool, new QueueRetrySendJobs(queues), id, config.SEND_BATCH_SIZE);
      await ctx.audit.record(consoleLocals(res).actor, 'article.retry-failed', { type: 'article', id }, { requeued: result.requeued });
      back(req, res, id, 'retried');
    },

    /** Pauses or resumes the send queue: every worker stops (resumes) taking notification batches. */
    async setPaused(req: Request, res: Response, id: number, paused: boolean) {
      if (paused) await queues.send.pause();
      else await queues.send.resume();
      await ctx.audit.record(consoleLocals(res).actor, paused ? 'sending.pause' : 'sending.resume', { type: 'article', id });
      back(req, res, id, paused ? 'paused' : 'resumed');
    },

    /** The publish form. */
    async showForm(req: Request, res: Response) {
      await formPage(req, res, { values: { articleLang: 'pl' } });
    },

    /** Publishes with the API's validation and stale-article guard; errors are shown next to the fields. */
    async publish(req: Request, res: Response, body: z.infer<typeof publishBody>) {
      const topics = body.topics === undefined ? [] : ([] as string[]).concat(body.topics);
      const values = { ...body, topics };
      try {
        const input = parseInput(articleSchema, { url: body.url.trim(), title: body.title, summary: body.summary || undefined, lang: body.articleLang, topics });
        const { article, created } = await articles.publish(input);
        await ctx.audit.record(consoleLocals(res).actor, 'article.publish', { type: 'article', id: article.id }, { created });
        back(req, res, article.id, created ? 'published' : 'known');
      } catch (err) {
        const refusal = asAppError(err);
        if (refusal?.status !== 400) throw err;
        res.status(400);
        await formPage(req, res, { values, fields: refusal.fields ?? {}, message: refusal.message });
      }
    },
  };
}
