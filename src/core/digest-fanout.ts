import * as digests from '../db/digest-queries.ts';
import type { Db } from '../db/pool.ts';
import type { FanoutOptions } from './fanout.ts';

/** A batch of one run's digest deliveries, identified by an inclusive id range. */
export interface DigestSendBatch {
  runId: number;
  fromId: number;
  toId: number;
}

/** Where the digest fan-out hands its send batches: implemented with BullMQ (addBulk, deterministic ids). */
export interface DigestSendQueue {
  queueDigestSendBatches(batches: DigestSendBatch[]): Promise<void>;
}

/** What a digest fan-out did. */
export interface DigestFanoutResult {
  status: 'done' | 'not-running';
  written: number;
  batches: number;
}

/** Splits an inclusive id range into batches of at most `size` ids. */
export function splitDigestRange(runId: number, fromId: number, toId: number, size: number): DigestSendBatch[] {
  const batches: DigestSendBatch[] = [];
  for (let start = fromId; start <= toId; start += size) batches.push({ runId, fromId: start, toId: Math.min(toId, start + size - 1) });
  return batches;
}

/**
 * Writes a run's digest ledger page by page (keyset over the frequency's subscribers) and queues a send batch
 * per written range, as the article fan-out does: each page moves the cursor in the statement that writes it,
 * so a killed run resumes where it stopped, and `resume` re-queues what an earlier attempt wrote.
 */
export async function runDigestFanout(db: Db, queue: DigestSendQueue, runId: number, options: FanoutOptions, resume: (runId: number) => Promise<unknown>): Promise<DigestFanoutResult> {
  const fanout = await digests.startDigestFanout(db, runId);
  if (!fanout) return { status: 'not-running', written: 0, batches: 0 };
  if (fanout.fanout_cursor > 0) await resume(runId);
  let cursor = fanout.fanout_cursor;
  let pageSize = options.batchSize;
  let written = 0;
  let batches = 0;
  for (;;) {
    const page = await digests.writeDigestFanoutPage(db, runId, cursor, fanout.frequency, pageSize);
    if (page.from_id !== null && page.to_id !== null) {
      const ranges = splitDigestRange(runId, page.from_id, page.to_id, options.batchSize);
      await queue.queueDigestSendBatches(ranges);
      written += page.written;
      batches += ranges.length;
    }
    if (page.scanned < pageSize) break;
    cursor = page.cursor;
    pageSize = Math.min(options.maxPageSize, pageSize * 2);
  }
  await digests.finishDigestFanout(db, runId);
  return { status: 'done', written, batches };
}
