import type { Job, Worker } from 'bullmq';
import type { Logger } from '../src/log.ts';
import { maskedErrorMessage } from '../src/mail/mask-addresses.ts';
import { observeJobDuration } from '../src/metrics/metrics.ts';

function processingSeconds(job: Job | undefined): number | null {
  if (!job?.processedOn) return null;
  return Math.max(0, ((job.finishedOn ?? Date.now()) - job.processedOn) / 1000);
}

/** Records the duration of every job the worker finishes (powiadom_job_duration_seconds). */
export function recordJobDurations(worker: Worker): void {
  worker.on('completed', (job) => {
    const seconds = processingSeconds(job);
    if (seconds !== null) observeJobDuration(worker.name, 'completed', seconds);
  });
  worker.on('failed', (job) => {
    const seconds = processingSeconds(job);
    if (seconds !== null) observeJobDuration(worker.name, 'failed', seconds);
  });
}

/** Logs a worker's connection errors and failed jobs, and records its job durations. */
export function observeWorker(worker: Worker, log: Logger): void {
  worker.on('error', (err) => log.warn({ err: err.message, queue: worker.name }, 'worker error'));
  worker.on('failed', (job, err) => log.warn({ queue: worker.name, jobId: job?.id, err: maskedErrorMessage(err) }, 'job failed'));
  recordJobDurations(worker);
}

/** Whether a failing job will be tried again by BullMQ (attemptsMade counts the one that is failing now). */
export function willRetry(job: Job): boolean {
  return job.attemptsMade + 1 < (job.opts.attempts ?? 1);
}
