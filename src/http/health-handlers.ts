import type { Request, Response } from 'express';
import type { Deps } from '../deps.ts';

const READY_TIMEOUT_MS = 2000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Liveness and readiness probes. */
export function healthHandlers(deps: Deps) {
  return {
    /** GET /healthz: 200 while the process lives. */
    live(_req: Request, res: Response) {
      res.json({ status: 'ok' });
    },

    /** GET /readyz: 200 when PostgreSQL and Redis both answer, else 503 naming what failed. */
    async ready(_req: Request, res: Response) {
      const [postgres, redis] = await Promise.all([
        withTimeout(deps.pool.query('SELECT 1'), READY_TIMEOUT_MS).then(() => 'ok', () => 'unavailable'),
        withTimeout(deps.redis.ping(), READY_TIMEOUT_MS).then(() => 'ok', () => 'unavailable'),
      ]);
      const ok = postgres === 'ok' && redis === 'ok';
      res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable', postgres, redis });
    },
  };
}
