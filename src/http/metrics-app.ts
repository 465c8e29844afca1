import express, { type Express } from 'express';
import type { Deps } from '../deps.ts';
import { requireBearer } from './auth.ts';
import { errorMiddleware, notFoundHandler } from './error-middleware.ts';
import { opsHandlers } from './ops-handlers.ts';

/** The HTTP server of a worker-only process (METRICS_PORT): GET /metrics and nothing else. */
export function createMetricsApp(deps: Deps): Express {
  const app = express();
  app.disable('x-powered-by');
  const ops = opsHandlers(deps);
  const auth = requireBearer([deps.config.ADMIN_TOKEN, deps.config.METRICS_TOKEN], deps.limiters.adminFailures);
  app.get('/metrics', auth, (req, res, next) => ops.metrics(req, res).catch(next));
  app.use(notFoundHandler);
  app.use(errorMiddleware(deps.pages));
  return app;
}
