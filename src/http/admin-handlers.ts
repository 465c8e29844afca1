import type { Request, Response } from 'express';
import { importSubscribers, parseImportCsv } from '../core/subscriber-import.ts';
import { deleteTopic, insertTopic, listTopics } from '../db/topic-queries.ts';
import type { Deps } from '../deps.ts';
import { conflict, invalid, isUniqueViolation, notFound } from '../errors.ts';
import { presentSubscriber, presentTopic } from './presenters.ts';

/** Handlers of topics and the admin subscriber API. */
export function adminHandlers(deps: Deps) {
  return {
    /** GET /api/topics */
    async listTopics(_req: Request, res: Response) {
      res.json((await listTopics(deps.pool)).map(presentTopic));
    },

    /** POST /api/topics */
    async createTopic(_req: Request, res: Response, topic: { slug: string; name: string }) {
      try {
        res.status(201).json(presentTopic(await insertTopic(deps.pool, topic)));
      } catch (err) {
        if (isUniqueViolation(err)) throw conflict(`Topic "${topic.slug}" exists already.`);
        throw err;
      }
    },

    /** DELETE /api/topics/:slug */
    async deleteTopic(_req: Request, res: Response, slug: string) {
      if (!(await deleteTopic(deps.pool, slug))) throw notFound('Topic');
      res.status(204).end();
    },

    /** GET /api/subscribers?email= */
    async findSubscribers(_req: Request, res: Response, email: string) {
      res.json((await deps.subscriptions.find(email)).map(presentSubscriber));
    },

    /** DELETE /api/subscribers/:id: erasure. */
    async eraseSubscriber(_req: Request, res: Response, id: number) {
      if (!(await deps.subscriptions.eraseById(id))) throw notFound('Subscriber');
      res.status(204).end();
    },

    /** POST /api/subscribers/:id/revoke-links: voids every manage/unsubscribe link already sent. */
    async revokeLinks(_req: Request, res: Response, id: number) {
      if (!(await deps.subscriptions.revokeLinks(id))) throw notFound('Subscriber');
      res.status(204).end();
    },

    /** POST /api/subscribers/import: a JSON array or text/csv. */
    async importSubscribers(req: Request, res: Response) {
      const rows = req.is('text/csv') ? parseImportCsv(String(req.body ?? '')) : req.body;
      if (!Array.isArray(rows)) throw invalid('Send a JSON array or a text/csv body.', { body: 'must be an array of rows' });
      res.json(await importSubscribers(deps.pool, rows));
    },
  };
}
