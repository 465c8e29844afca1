import type { Request, Response } from 'express';
import type { ArticleInput, ArticleView, DeliveryCounts, PageRequest } from '../core/articles.ts';
import type { Deps } from '../deps.ts';
import { notFound } from '../errors.ts';

/** An article as the API shows it, with its delivery counts when known. */
export function presentArticle(a: ArticleView, delivery?: DeliveryCounts) {
  return {
    id: a.id,
    guid: a.guid,
    url: a.url,
    title: a.title,
    summary: a.summary,
    imageUrl: a.imageUrl,
    lang: a.lang,
    source: a.source,
    topics: a.topics,
    publishedAt: a.publishedAt,
    createdAt: a.createdAt,
    notify: a.notify,
    fanoutStatus: a.fanoutStatus,
    ...(delivery ? { delivery } : {}),
  };
}

/** Handlers of the articles API. */
export function articleHandlers(deps: Deps) {
  return {
    /** POST /api/articles: 202 when new (notification starts; "notify":false,"reason":"too_old" past MAX_ARTICLE_AGE_HOURS unless "force":true), 200 with the first article when its guid or canonical URL is known. */
    async publish(_req: Request, res: Response, input: ArticleInput & { force?: boolean }) {
      const { force, ...article0 } = input;
      const { article, created, reason } = await deps.articles.publish(article0, { maxAgeHours: deps.config.MAX_ARTICLE_AGE_HOURS, force });
      res.status(created ? 202 : 200).json({ ...presentArticle(article, await deps.articles.deliveryCounts(article.id)), ...(reason ? { reason } : {}) });
    },

    /** GET /api/articles?page=&perPage= */
    async list(_req: Request, res: Response, page: PageRequest) {
      const result = await deps.articles.list(page);
      res.json({ ...result, items: result.items.map((a) => presentArticle(a)) });
    },

    /** GET /api/articles/:id */
    async get(_req: Request, res: Response, id: number) {
      const article = await deps.articles.get(id);
      if (!article) throw notFound('Article');
      res.json(presentArticle(article, await deps.articles.deliveryCounts(id)));
    },
  };
}
