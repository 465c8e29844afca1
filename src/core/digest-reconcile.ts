import * as digests from '../db/digest-queries.ts';
import type { Db } from '../db/pool.ts';
import type { DigestSendBatch, DigestSendQueue } from './digest-fanout.ts';
import type { LiveRange, ReconcileOptions } from './reconcile.ts';

/** What the digest reconciler needs from the job system (BullMQ in src/jobs/jobs.ts). */
export interface DigestReconcileJobs extends DigestSendQueue {
  /** Ranges of every waiting, delayed or active digest send job, by run. */
  liveDigestSendRanges(): Promise<Map<number, LiveRange[]>>;
  /** Queues batches again, replacing a finished or failed job that has the same deterministic id. */
  requeueDigestSendBatches(batches: DigestSendBatch[]): Promise<void>;
  /** Makes sure an unfinished run fan-out has a job: adds it when missing, retries it when failed. */
  ensureDigestFanout(runId: number): Promise<'live' | 'added' | 'retried'>;
}

/** What one digest reconciliation did; `finished` lists the runs stamped finished now. */
export interface DigestReconcileResult {
  fanoutsResumed: number;
  batchesRequeued: number;
  finished: { id: number; frequency: string; created_at: Date; finished_at: Date }[];
}

/** Re-queues the pending digest deliveries of one run that no live send job covers. */
export async function requeueDigestOrphans(db: Db, jobs: DigestReconcileJobs, runId: number, options: ReconcileOptions, live?: Map<number, LiveRange[]>): Promise<number> {
  const ranges = (live ?? (await jobs.liveDigestSendRanges())).get(runId) ?? [];
  const orphans = await digests.listDigestOrphanRanges(db, runId, ranges, {
    leaseSeconds: options.claimLeaseSeconds,
    chunk: options.batchSize,
    minAgeSeconds: options.minAgeSeconds,
  });
  const batches = orphans.map((r) => ({ runId, fromId: r.from_id, toId: r.to_id }));
  await jobs.requeueDigestSendBatches(batches);
  return batches.length;
}

/**
 * Makes the job system agree with the digest ledger, which is the truth (after a SIGKILL or a Redis that lost
 * its data): every unfinished run fan-out has a job, every pending digest delivery a live send job, and runs
 * with nothing pending are stamped finished. Re-queuing is safe: ids are deterministic, claims exclusive.
 */
export async function reconcileDigests(db: Db, jobs: DigestReconcileJobs, options: ReconcileOptions): Promise<DigestReconcileResult> {
  let fanoutsResumed = 0;
  for (const runId of await digests.listUnfinishedDigestFanouts(db)) {
    if ((await jobs.ensureDigestFanout(runId)) !== 'live') fanoutsResumed += 1;
  }
  const pending = await digests.listDigestRunsWithPending(db);
  let batchesRequeued = 0;
  const finished: DigestReconcileResult['finished'] = [];
  if (pending.length > 0) {
    const live = await jobs.liveDigestSendRanges();
    for (const runId of pending) {
      batchesRequeued += await requeueDigestOrphans(db, jobs, runId, options, live);
      const done = await digests.finishDigestRun(db, runId);
      if (done) finished.push(done);
    }
  }
  return { fanoutsResumed, batchesRequeued, finished };
}
