import type { Queue } from 'bullmq';
import type { JobQueues } from './jobs.ts';
import { QUEUE_STATES, type QueueInspector, type QueueState, type QueueStats } from '../core/stats.ts';

async function oldestWaitingTimestamp(queue: Queue): Promise<number | null> {
  const stamps: number[] = [];
  for (const type of ['wait', 'paused'] as const) {
    // Lists are LPUSHed: the oldest job is at the tail, which asc order returns first.
    const [job] = await queue.getJobs([type], 0, 0, true);
    if (job?.timestamp) stamps.push(job.timestamp);
  }
  return stamps.length ? Math.min(...stamps) : null;
}

async function workersCount(queue: Queue): Promise<number | null> {
  try {
    return await queue.getWorkersCount();
  } catch {
    return null;
  }
}

/** Reads the counts, pause flag, oldest waiting job and workers of one queue. */
export async function readQueueStats(queue: Queue, now = Date.now()): Promise<QueueStats> {
  const raw = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed', 'paused');
  const counts = Object.fromEntries(QUEUE_STATES.map((s) => [s, raw[s] ?? 0])) as Record<QueueState, number>;
  counts.waiting += raw.prioritized ?? 0;
  const [paused, oldest, workers] = await Promise.all([queue.isPaused(), oldestWaitingTimestamp(queue), workersCount(queue)]);
  return { name: queue.name, paused, counts, oldestWaitingSeconds: oldest ? Math.max(0, (now - oldest) / 1000) : 0, workers };
}

/** Reads every queue of src/jobs/jobs.ts. */
export async function readAllQueueStats(queues: JobQueues): Promise<QueueStats[]> {
  const now = Date.now();
  return Promise.all(queues.all().map((q) => readQueueStats(q, now)));
}

/** The queue inspector of the stats, on BullMQ. */
export function bullQueueInspector(queues: JobQueues): QueueInspector {
  return { readAll: () => readAllQueueStats(queues) };
}
