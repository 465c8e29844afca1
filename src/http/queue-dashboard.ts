import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { RequestHandler } from 'express';
import helmet from 'helmet';
import type { JobQueues } from '../jobs/jobs.ts';

/** Where the queue dashboard (Bull Board) is mounted. */
export const QUEUE_DASHBOARD_PATH = '/admin/queues';

const QUEUE_DESCRIPTIONS: Record<string, string> = {
  email: 'Transactional e-mail: confirmation, already subscribed, welcome',
  fanout: 'One job per article: writes the delivery ledger, enqueues send batches',
  send: 'Batches of notification e-mails of one article',
  feeds: 'Scheduled polling of the office’s feeds',
  maintenance: 'Housekeeping: reconciler, expiry of unconfirmed subscriptions',
  digest: 'Daily and weekly digests: schedule ticks and run fan-outs',
  'digest-send': 'Batches of digest e-mails of one run',
};

/** Bull Board over every queue of src/jobs/jobs.ts, with retry, clean, pause and promote; job data holds ids only. */
export function queueDashboard(queues: JobQueues, basePath = QUEUE_DASHBOARD_PATH): RequestHandler {
  const serverAdapter = new ExpressAdapter().setBasePath(basePath);
  createBullBoard({
    queues: queues.all().map((q) => new BullMQAdapter(q, { allowRetries: true, readOnlyMode: false, description: QUEUE_DESCRIPTIONS[q.name] ?? '' })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Powiadom' } },
  });
  return serverAdapter.getRouter() as RequestHandler;
}

/**
 * Security headers of the dashboard only: Bull Board's page uses inline styles, so style-src is relaxed
 * here; its Google Fonts link is dropped (withoutThirdPartyFonts), so nothing loads from third parties.
 * Scripts still come from 'self' only. Every other path keeps the strict CSP.
 */
export function dashboardSecurityHeaders(https: boolean): RequestHandler {
  return helmet({
    hsts: https,
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        fontSrc: ["'self'", 'data:'],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        upgradeInsecureRequests: https ? [] : null,
      },
    },
    referrerPolicy: { policy: 'no-referrer' },
  });
}
