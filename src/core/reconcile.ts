import * as deliveries from '../db/delivery-queries.ts';
import type { Db } from '../db/pool.ts';
import type { SendBatch, SendBatchQueue } from './fanout.ts';

/** An inclusive range of delivery ids covered by a live send job. */
export interface LiveRange {
  fromId: number;
  toId: number;
}

/** What the reconciler needs from the job system (BullMQ in src/jobs/jobs.ts). */
export interface ReconcileJobs extends SendBatchQueue {
  /** Ranges of every waiting, delayed or active send job, by article. */
  liveSendRanges(): Promise<Map<number, LiveRange[]>>;
  /** Queues batches again, replacing a finished or failed job that has the same deterministic id. */
  requeueSendBatches(batches: SendBatch[]): Promise<void>;
  /** Makes sure an unfinished fan-out has a job: adds it when missing, retries it when failed. */
  ensureFanout(articleId: number): Promise<'live' | 'added' | 'retried'>;
}

/** Reconciler tuning. */
export interface ReconcileOptions {
  batchSize: number;
  claimLeaseSeconds: number;
  /** deliveries younger than this are left to the fan-out that is queuing them */
  minAgeSeconds: number;
}

/** What one reconciliation did. */
export interface ReconcileResult {
  fanoutsResumed: number;
  batchesRequeued: number;
}

/** Re-queues the pending deliveries of one article that no live send job covers. */
export async function requeueOrphans(db: Db, jobs: ReconcileJobs, articleId: number, options: ReconcileOptions, live?: Map<number, LiveRange[]>): Promise<number> {
  const ranges = (live ?? (await jobs.liveSendRanges())).get(articleId) ?? [];
  const orphans = await deliveries.listOrphanRanges(db, articleId, ranges, {
    leaseSeconds: options.claimLeaseSeconds,
    chunk: options.batchSize,
    minAgeSeconds: options.minAgeSeconds,
  });
  const batches: SendBatch[] = orphans.map((r) => ({ articleId, fromId: r.from_id, toId: r.to_id }));
  await jobs.requeueSendBatches(batches);
  return batches.length;
}

/**
 * Makes the job system agree with the ledger, which is the truth: every unfinished fan-out has a
 * job, and every pending delivery is covered by a live send job (after Redis lost its data, say).
 * Re-queuing is safe: job ids are deterministic and a delivery is sent only by the job that claimed it.
 */
export async function reconcile(db: Db, jobs: ReconcileJobs, options: ReconcileOptions): Promise<ReconcileResult> {
  let fanoutsResumed = 0;
  for (const articleId of await deliveries.listUnfinishedFanouts(db)) {
    if ((await jobs.ensureFanout(articleId)) !== 'live') fanoutsResumed += 1;
  }
  const pending = await deliveries.listArticlesWithPending(db);
  let batchesRequeued = 0;
  if (pending.length > 0) {
    const live = await jobs.liveSendRanges();
    for (const articleId of pending) batchesRequeued += await requeueOrphans(db, jobs, articleId, options, live);
  }
  return { fanoutsResumed, batchesRequeued };
}
