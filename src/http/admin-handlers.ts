import type { Request, Response } from 'express';
import { importSubscribers, parseImportCsv } from '../core/subscriber-import.ts';
import type { SubscriptionService } from '../core/subscriptions.ts';
import { TopicCatalog } from '../core/topics.ts';
import type { Deps } from '../deps.ts';
import { invalid, notFound } from '../errors.ts';
import { presentSubscriber, presentTopic } from './presenters.ts';

/** Handlers of the topics API: list, create (409 when the slug exists), delete. */
export function topicHandlers(topics: TopicCatalog) {
  return {
    /** GET /api/topics */
    async listTopics(_req: Request, res: Response) {
      res.json((await topics.list()).map(presentTopic));
    },

    /** POST /api/topics */
    async createTopic(_req: Request, res: Response, topic: { slug: string; name: string }) {
      res.status(201).json(presentTopic(await topics.create(topic)));
    },

    /** DELETE /api/topics/:slug */
    async deleteTopic(_req: Request, res: Response, slug: string) {
      if (!(await topics.remove(slug))) throw notFound('Topic');
      res.status(204).end();
    },
  };
}

/** Handlers of the admin subscriber API: search, erasure, link revocation, import. */
export function subscriberAdminHandlers(subscriptions: SubscriptionService, pool: Deps['pool']) {
  return {
    /** GET /api/subscribers?email= */
    async findSubscribers(_req: Request, res: Response, email: string) {
      res.json((await subscriptions.find(email)).map(presentSubscriber));
    },

    /** DELETE /api/subscribers/:id: erasure. */
    async eraseSubscriber(_req: Request, res: Response, id: number) {
      if (!(await subscriptions.eraseById(id))) throw notFound('Subscriber');
      res.status(204).end();
    },

    /** POST /api/subscribers/:id/revoke-links: voids every manage/unsubscribe link already sent. */
    async revokeLinks(_req: Request, res: Response, id: number) {
      if (!(await subscriptions.revokeLinks(id))) throw notFound('Subscriber');
      res.status(204).end();
    },

    /** POST /api/subscribers/import: a JSON array or text/csv. */
    async importSubscribers(req: Request, res: Response) {
      const rows = req.is('text/csv') ? parseImportCsv(String(req.body ?? '')) : req.body;
      if (!Array.isArray(rows)) throw invalid('Send a JSON array or a text/csv body.', { body: 'must be an array of rows' });
      res.json(await importSubscribers(pool, rows));
    },
  };
}

/** Handlers of topics and the admin subscriber API. */
export function adminHandlers(deps: Deps) {
  return { ...topicHandlers(new TopicCatalog(deps.pool)), ...subscriberAdminHandlers(deps.subscriptions, deps.pool) };
}
