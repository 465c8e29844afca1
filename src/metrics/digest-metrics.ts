import { Counter, Gauge, Histogram } from 'prom-client';
import { dueSlot, type DigestSchedule } from '../core/digest-schedule.ts';
import { lastDigestSuccess, type DigestFrequency } from '../db/digest-queries.ts';
import type { Db } from '../db/pool.ts';
import { registry } from './metrics.ts';

const FREQUENCIES: readonly DigestFrequency[] = ['daily', 'weekly'];

const digestsSent = new Counter({
  name: 'powiadom_digests_total',
  help: 'Digest e-mails by frequency and outcome (per process): sent, failed, suppressed (not sent on purpose), retried',
  labelNames: ['frequency', 'outcome'] as const,
  registers: [registry],
});
const runDuration = new Histogram({
  name: 'powiadom_digest_run_duration_seconds',
  help: 'Time from a digest run\'s creation until its last digest was recorded, by frequency (per process that saw it finish)',
  labelNames: ['frequency'] as const,
  buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200],
  registers: [registry],
});
const lastSuccess = new Gauge({
  name: 'powiadom_digest_last_success_timestamp_seconds',
  help: 'Unix time the last digest run of each frequency finished, read from PostgreSQL at scrape time (global; absent before the first)',
  labelNames: ['frequency'] as const,
  registers: [registry],
});
const lastScheduled = new Gauge({
  name: 'powiadom_digest_last_scheduled_timestamp_seconds',
  help: 'Unix time of the latest scheduled digest time of each frequency (DIGEST_TIME, DIGEST_WEEKDAY, DIGEST_TIMEZONE) at scrape time (global)',
  labelNames: ['frequency'] as const,
  registers: [registry],
});

/** Counts digest outcomes of a batch. */
export function recordDigestOutcome(frequency: string, outcome: 'sent' | 'failed' | 'suppressed' | 'retried', count: number): void {
  if (count > 0) digestsSent.inc({ frequency, outcome }, count);
}

/** Records a finished run's duration. */
export function observeDigestRun(frequency: string, createdAt: Date, finishedAt: Date): void {
  runDuration.observe({ frequency }, Math.max(0, (finishedAt.getTime() - createdAt.getTime()) / 1000));
}

/** Sets the digest gauges at scrape time: the last finished run (PostgreSQL) and the latest scheduled time. */
export async function setDigestGauges(db: Db, schedule: DigestSchedule, now = new Date()): Promise<void> {
  const finished = await lastDigestSuccess(db);
  lastSuccess.reset();
  for (const row of finished) lastSuccess.set({ frequency: row.frequency }, row.finished_at.getTime() / 1000);
  for (const frequency of FREQUENCIES) lastScheduled.set({ frequency }, dueSlot(frequency, schedule, now).scheduledFor.getTime() / 1000);
}
