import type { Request, RequestHandler } from 'express';
import { observeHttpRequest } from '../metrics/metrics.ts';

/** The route pattern of a request for metric labels: never the raw path, which may hold link tokens. */
export function routeLabel(req: Request): string {
  const pattern = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof pattern === 'string') return pattern;
  const path = req.originalUrl.split('?')[0] ?? '';
  if (path.startsWith('/admin/queues')) return '/admin/queues';
  if (path.startsWith('/static/')) return '/static';
  return 'unmatched';
}

/** Counts and times every HTTP request by method, route pattern and status. */
export function httpMetrics(): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      observeHttpRequest(req.method, routeLabel(req), res.statusCode, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };
}
