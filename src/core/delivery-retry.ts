import { resetFailedDeliveries } from '../db/operations-queries.ts';
import type { Db } from '../db/pool.ts';

/** A contiguous id range of one article's deliveries, as a send job covers it. */
export interface DeliveryRange {
  articleId: number;
  fromId: number;
  toId: number;
}

/** Enqueues send work for ranges of pending deliveries (implemented on BullMQ in src/jobs/jobs.ts). */
export interface RetrySendJobs {
  queueRetry(ranges: DeliveryRange[]): Promise<void>;
}

/** Splits sorted ids into ranges of at most `batchSize` ids each. */
export function chunkRanges(articleId: number, ids: number[], batchSize: number): DeliveryRange[] {
  const ranges: DeliveryRange[] = [];
  for (let i = 0; i < ids.length; i += batchSize) {
    const chunk = ids.slice(i, i + batchSize);
    ranges.push({ articleId, fromId: chunk[0]!, toId: chunk[chunk.length - 1]! });
  }
  return ranges;
}

/**
 * Re-sends an article's failed deliveries: they go back to pending and unclaimed, then send jobs are
 * enqueued for them. Suppressed deliveries are never retried. Should the enqueue fail (Redis away),
 * the rows stay pending and the reconciler picks them up.
 */
export async function retryFailedDeliveries(db: Db, jobs: RetrySendJobs, articleId: number, batchSize: number): Promise<{ requeued: number; jobs: number }> {
  const ids = await resetFailedDeliveries(db, articleId);
  const ranges = chunkRanges(articleId, ids, batchSize);
  if (ranges.length > 0) await jobs.queueRetry(ranges);
  return { requeued: ids.length, jobs: ranges.length };
}
