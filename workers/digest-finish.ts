import { finishDigestRun } from '../src/db/digest-queries.ts';
import type { Db } from '../src/db/pool.ts';
import { observeDigestRun } from '../src/metrics/digest-metrics.ts';
import type { Logger } from '../src/log.ts';

/** Stamps a run finished when nothing of it is pending, and records its duration. */
export async function finishRunIfDone(ctx: { pool: Db; log: Logger }, runId: number): Promise<void> {
  const done = await finishDigestRun(ctx.pool, runId);
  if (!done) return;
  observeDigestRun(done.frequency, done.created_at, done.finished_at);
  ctx.log.info({ runId, frequency: done.frequency, ms: done.finished_at.getTime() - done.created_at.getTime() }, 'digest run finished');
}
