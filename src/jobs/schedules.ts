import type { DigestJob, FeedJob, MaintenanceJob } from './jobs.ts';

/**
 * Every BullMQ job scheduler of Powiadom: its id, when it fires and the job it adds. Worker processes upsert
 * them by id (idempotent, so every worker process may) and register them again when Redis lost them.
 */
export interface JobSchedule<T> {
  id: string;
  repeat: { every: number } | { pattern: string; tz: string };
  template: { name: string; data: T; opts: { removeOnComplete: number; removeOnFail: number; attempts?: number; backoff?: { type: 'exponential'; delay: number } } };
}

/** Scheduled jobs keep the last 100 completed and failed runs, for the dashboard (copied per template: BullMQ keeps what it is given). */
const KEEP_LAST_RUNS = { removeOnComplete: 100, removeOnFail: 100 };

/** Id of the maintenance scheduler that reconciles the ledgers with the queues every RECONCILE_INTERVAL_MS. */
export const RECONCILE_SCHEDULER_ID = 'reconcile';
/** Id of the maintenance scheduler that deletes expired unconfirmed subscriptions. */
export const EXPIRE_PENDING_SCHEDULER_ID = 'expire-pending';
/** How often unconfirmed subscriptions past PENDING_TTL_DAYS are deleted. */
export const EXPIRE_PENDING_EVERY_MS = 3_600_000;
/** Job scheduler id of the canary on the maintenance queue (CANARY_EMAIL every CANARY_INTERVAL_MS). */
export const CANARY_SCHEDULER = 'canary';
/** Id of the job scheduler that polls FEEDS every FEED_POLL_INTERVAL_MS. */
export const FEED_SCHEDULER_ID = 'poll-feeds';

/** Id of the job scheduler of a digest frequency (DIGEST_TIME, DIGEST_WEEKDAY, DIGEST_TIMEZONE). */
export function digestSchedulerId(frequency: 'daily' | 'weekly'): string {
  return `digest-${frequency}`;
}

/** The reconciler's schedule on the maintenance queue. */
export function reconcileSchedule(everyMs: number): JobSchedule<MaintenanceJob> {
  return { id: RECONCILE_SCHEDULER_ID, repeat: { every: everyMs }, template: { name: 'reconcile', data: { task: 'reconcile' }, opts: { ...KEEP_LAST_RUNS } } };
}

/** The hourly deletion of expired unconfirmed subscriptions (and old management-link requests). */
export function expirePendingSchedule(): JobSchedule<MaintenanceJob> {
  return { id: EXPIRE_PENDING_SCHEDULER_ID, repeat: { every: EXPIRE_PENDING_EVERY_MS }, template: { name: 'expire-pending', data: { task: 'expire-pending' }, opts: { ...KEEP_LAST_RUNS } } };
}

/** The canary e-mail's schedule on the maintenance queue. */
export function canarySchedule(everyMs: number): JobSchedule<MaintenanceJob> {
  return { id: CANARY_SCHEDULER, repeat: { every: everyMs }, template: { name: 'canary', data: { task: 'canary' }, opts: { ...KEEP_LAST_RUNS } } };
}

/** The feed poll's schedule (the first poll runs at once). */
export function feedSchedule(everyMs: number): JobSchedule<FeedJob> {
  return { id: FEED_SCHEDULER_ID, repeat: { every: everyMs }, template: { name: 'poll-feeds', data: {}, opts: { ...KEEP_LAST_RUNS } } };
}

/** The schedule tick of a digest frequency (cron in DIGEST_TIMEZONE); a tick creates the due run once per slot. */
export function digestTickSchedule(frequency: 'daily' | 'weekly', cron: { pattern: string; tz: string }): JobSchedule<DigestJob> {
  return {
    id: digestSchedulerId(frequency),
    repeat: cron,
    template: { name: 'tick', data: { kind: 'tick', frequency }, opts: { ...KEEP_LAST_RUNS, attempts: 5, backoff: { type: 'exponential', delay: 5_000 } } },
  };
}

/** The part of a BullMQ queue that registers job schedulers. */
interface SchedulerQueue<T> {
  upsertJobScheduler(id: string, repeat: JobSchedule<T>['repeat'], template: JobSchedule<T>['template']): Promise<unknown>;
}

/** Creates or updates a job scheduler by its id. */
export async function upsertSchedule<T>(queue: SchedulerQueue<T>, schedule: JobSchedule<T>): Promise<void> {
  await queue.upsertJobScheduler(schedule.id, schedule.repeat, schedule.template);
}
