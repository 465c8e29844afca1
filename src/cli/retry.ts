import { retryFailedDeliveries } from '../core/delivery-retry.ts';
import type { Deps } from '../deps.ts';
import { QueueRetrySendJobs } from '../jobs/jobs.ts';
import { EXIT, note, print } from './context.ts';

/** `retry <articleId>`: failed deliveries back to pending, send jobs enqueued. */
export async function runRetry(deps: Deps, id: number): Promise<number> {
  if (!(await deps.articles.get(id))) {
    note(`Article ${id} not found.`);
    return EXIT.error;
  }
  const result = await retryFailedDeliveries(deps.pool, new QueueRetrySendJobs(deps.queues), id, deps.config.SEND_BATCH_SIZE);
  print(result.requeued === 0 ? `Article ${id} has no failed deliveries.` : `Article ${id}: ${result.requeued} failed deliveries queued again in ${result.jobs} send jobs.`);
  return EXIT.ok;
}
