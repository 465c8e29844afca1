import * as deliveries from '../db/delivery-queries.ts';
import type { Db } from '../db/pool.ts';

/** A batch of one article's deliveries, identified by an inclusive delivery id range. */
export interface SendBatch {
  articleId: number;
  fromId: number;
  toId: number;
}

/** Where the fan-out hands its send batches: implemented with BullMQ (addBulk, deterministic ids). */
export interface SendBatchQueue {
  queueSendBatches(batches: SendBatch[]): Promise<void>;
}

/** Fan-out tuning: send batch size, and the page size it grows to (the first page is one batch, for a fast first e-mail). */
export interface FanoutOptions {
  batchSize: number;
  maxPageSize: number;
}

/** What a fan-out run did. */
export interface FanoutResult {
  status: 'done' | 'not-running';
  written: number;
  batches: number;
}

/** Splits an inclusive id range into batches of at most `size` ids. */
export function splitRange(articleId: number, fromId: number, toId: number, size: number): SendBatch[] {
  const batches: SendBatch[] = [];
  for (let start = fromId; start <= toId; start += size) {
    batches.push({ articleId, fromId: start, toId: Math.min(toId, start + size - 1) });
  }
  return batches;
}

/**
 * Writes the delivery ledger of an article page by page (keyset over subscriber ids, never all in
 * memory) and queues a send batch per written range. Each page moves the cursor in the statement that
 * writes it, so a killed run resumes where it stopped; `resume` re-queues what an earlier run wrote but
 * may not have queued (the reconciler's job, done at once here to keep a restart fast).
 */
export async function runFanout(
  db: Db,
  queue: SendBatchQueue,
  articleId: number,
  options: FanoutOptions,
  resume: (articleId: number) => Promise<unknown>,
): Promise<FanoutResult> {
  const fanout = await deliveries.startFanout(db, articleId);
  if (!fanout) return { status: 'not-running', written: 0, batches: 0 };
  if (fanout.fanout_cursor > 0) await resume(articleId);
  let cursor = fanout.fanout_cursor;
  let pageSize = options.batchSize;
  let written = 0;
  let batches = 0;
  for (;;) {
    const page = await deliveries.writeFanoutPage(db, articleId, cursor, fanout.topics, pageSize);
    if (page.from_id !== null && page.to_id !== null) {
      const ranges = splitRange(articleId, page.from_id, page.to_id, options.batchSize);
      await queue.queueSendBatches(ranges);
      written += page.written;
      batches += ranges.length;
    }
    if (page.scanned < pageSize) break;
    cursor = page.cursor;
    pageSize = Math.min(options.maxPageSize, pageSize * 2);
  }
  await deliveries.finishFanout(db, articleId);
  return { status: 'done', written, batches };
}
