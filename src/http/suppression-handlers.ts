import type { Request, Response } from 'express';
import { SuppressionService, type BounceType, type OperatorReason } from '../core/suppressions.ts';
import type { Deps } from '../deps.ts';
import { notFound } from '../errors.ts';
import { presentSuppression } from './presenters.ts';

/** Handlers of the bounce webhook and the operators' suppression list. */
export function suppressionHandlers(deps: Deps) {
  const suppressions = new SuppressionService(deps.pool, deps.log);
  return {
    /** POST /api/webhooks/bounce: hard and complaint suppress; soft is logged only. */
    async bounce(_req: Request, res: Response, report: { email: string; type: BounceType }) {
      const outcome = await suppressions.recordBounce(report.email, report.type);
      res.json({
        emailHash: outcome.emailHash,
        type: outcome.type,
        suppressed: outcome.suppressed,
        suppression: outcome.suppression && presentSuppression(outcome.suppression),
      });
    },

    /** GET /api/suppressions?limit=&offset= or ?email= for one address. */
    async list(_req: Request, res: Response, query: { limit: number; offset: number; email?: string }) {
      if (query.email !== undefined) {
        const found = await suppressions.lookup(query.email);
        res.json({ items: found ? [presentSuppression(found)] : [], limit: query.limit, offset: 0, nextOffset: null });
        return;
      }
      const rows = await suppressions.list(query.limit, query.offset);
      const nextOffset = rows.length === query.limit ? query.offset + rows.length : null;
      res.json({ items: rows.map(presentSuppression), limit: query.limit, offset: query.offset, nextOffset });
    },

    /** POST /api/suppressions: 201 when new, 200 when an entry was replaced. */
    async create(_req: Request, res: Response, body: { email: string; reason: OperatorReason; note?: string }) {
      const { suppression, created } = await suppressions.suppress(body.email, body.reason, body.note ?? null);
      res.status(created ? 201 : 200).json(presentSuppression(suppression));
    },

    /** DELETE /api/suppressions/:email (an address or its hash). */
    async remove(_req: Request, res: Response, emailOrHash: string) {
      if (!(await suppressions.lift(emailOrHash))) throw notFound('Suppression');
      res.status(204).end();
    },
  };
}
