import { Queue, type ConnectionOptions, type Job, type JobsOptions } from 'bullmq';
import { Batcher } from '../infra/batcher.ts';
import type { FanoutJobs } from '../core/articles.ts';
import type { DeliveryRange, RetrySendJobs } from '../core/delivery-retry.ts';
import type { SendBatch } from '../core/fanout.ts';
import type { ManageLinkJobs } from '../core/manage-link.ts';
import type { LiveRange, ReconcileJobs } from '../core/reconcile.ts';
import type { ConfirmationSlot, SubscriptionMailJobs } from '../core/subscriptions.ts';
import type { DigestSendBatch } from '../core/digest-fanout.ts';
import type { DigestReconcileJobs } from '../core/digest-reconcile.ts';
import type { DigestJobs } from '../core/digests.ts';

/**
 * The only module that knows queue names, job payloads, job ids and retry policies.
 * Payloads carry ids only: workers reload everything from PostgreSQL. Job schedulers: ./schedules.ts.
 */
export const QUEUE_NAMES = {
  /** transactional e-mail: confirmation, already-subscribed, welcome, management link */
  email: 'email',
  /** one job per article: writes the delivery ledger and enqueues send batches */
  fanout: 'fanout',
  /** batches of deliveries of one article */
  send: 'send',
  /** scheduled feed polling */
  feeds: 'feeds',
  /** scheduled housekeeping: reconcile the ledger, delete expired opt-ins */
  maintenance: 'maintenance',
  /** digests: scheduled ticks and operators' runs create a run, then its fan-out writes the digest ledger */
  digest: 'digest',
  /** batches of one digest run's deliveries */
  digestSend: 'digest-send',
} as const;

/** A queue's name. */
export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

/** Transactional e-mail job payloads. */
export type EmailJob =
  | { kind: 'confirm'; consentId: number }
  | { kind: 'already-subscribed'; subscriberId: number; topics?: string[] }
  | { kind: 'welcome'; subscriberId: number; consentId: number }
  | { kind: 'manage-link'; requestId: number };

/** Fan-out job payload. */
export interface FanoutJob {
  articleId: number;
}

/** Send job payload: the deliveries of one article with ids in [fromId, toId]. */
export interface SendJob {
  articleId: number;
  fromId: number;
  toId: number;
}

/** Maintenance job payload. */
export interface MaintenanceJob {
  task: 'reconcile' | 'expire-pending' | 'canary';
}

/** Feed job payload (the scheduler polls every configured feed). */
export interface FeedJob {
  feedUrl?: string;
}

/** Digest job payload: a schedule tick of a frequency (creates the due run) or the fan-out of a run. */
export type DigestJob = { kind: 'tick'; frequency: 'daily' | 'weekly' } | { kind: 'fanout'; runId: number };

/** Digest send job payload: the deliveries of one run with ids in [fromId, toId]. */
export interface DigestSendJob {
  runId: number;
  fromId: number;
  toId: number;
}

/** Job id of a digest run's fan-out. */
export function digestFanoutJobId(runId: number): string {
  return `digest-fanout-${runId}`;
}

/** Job id of a digest send batch. */
export function digestSendJobId(runId: number, fromId: number): string {
  return `digest-send-${runId}-${fromId}`;
}

/** Retry policy of transactional e-mail: a handful of tries over about an hour. */
export const EMAIL_JOB_OPTIONS: JobsOptions = {
  attempts: 6,
  backoff: { type: 'exponential', delay: 5_000, jitter: 0.5 },
  removeOnComplete: { age: 24 * 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/** Job id of a confirmation-class e-mail: one per slot of the daily cap. */
export function confirmationJobId(kind: 'confirm' | 'already', subscriberId: number, windowStart: number, count: number): string {
  return `${kind}-${subscriberId}-${windowStart}-${count}`;
}

/** Job id of a welcome e-mail: one per confirmed consent. */
export function welcomeJobId(consentId: number): string {
  return `welcome-${consentId}`;
}

/** Job id of a management-link e-mail: one per request. */
export function manageLinkJobId(requestId: number): string {
  return `manage-link-${requestId}`;
}

/** Retry policy of notification sending (SEND_ATTEMPTS, SEND_BACKOFF_MS). */
export interface SendPolicy {
  attempts: number;
  backoffMs: number;
}

/** Retry policy of a fan-out: it resumes from its cursor, so retrying is always safe. */
export const FANOUT_JOB_OPTIONS: JobsOptions = {
  attempts: 20,
  backoff: { type: 'exponential', delay: 1_000, jitter: 0.5 },
  removeOnComplete: { age: 24 * 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/** Retry policy of a send batch: exponential backoff with jitter; completed jobs leave Redis at once. */
export function sendJobOptions(policy: SendPolicy): JobsOptions {
  return {
    attempts: policy.attempts,
    backoff: { type: 'exponential', delay: policy.backoffMs, jitter: 0.5 },
    removeOnComplete: true,
    removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
  };
}

/** Send batch size and BullMQ limiter for SEND_RATE messages/s (0 = unlimited): with a cap, a batch holds at most one second of messages and the limiter admits one batch per its share of a second. */
export function sendThrottle(rate: number, batchSize: number): { batchSize: number; limiter?: { max: number; duration: number } } {
  if (rate <= 0) return { batchSize };
  const size = Math.max(1, Math.min(batchSize, rate));
  return { batchSize: size, limiter: { max: 1, duration: Math.ceil((size * 1000) / rate) } };
}

/** Job id of an operator's retry of a send batch: new every time, so a failed job of the same range cannot block it. */
export function retrySendJobId(articleId: number, fromId: number, at: number): string {
  return `send-${articleId}-${fromId}-retry-${at}`;
}

/** Job id of an article's fan-out. */
export function fanoutJobId(articleId: number): string {
  return `fanout-${articleId}`;
}

/** Job id of a send batch. */
export function sendJobId(articleId: number, fromId: number): string {
  return `send-${articleId}-${fromId}`;
}

/** Every queue, created on one connection with one prefix (tests use their own prefix). */
export class JobQueues {
  readonly email: Queue<EmailJob>;
  readonly fanout: Queue<FanoutJob>;
  readonly send: Queue<SendJob>;
  readonly feeds: Queue<FeedJob>;
  readonly maintenance: Queue<MaintenanceJob>;
  readonly digest: Queue<DigestJob>;
  readonly digestSend: Queue<DigestSendJob>;
  // Transactional e-mails queued together (one MULTI round trip) when requests come in together.
  private readonly emailAdds = new Batcher((adds: { job: EmailJob; jobId: string }[]) => this.addEmailsNow(adds), { maxBatch: 100, maxInFlight: 2 });

  constructor(
    readonly connection: ConnectionOptions,
    readonly prefix: string,
    readonly sendPolicy: SendPolicy = { attempts: 8, backoffMs: 30_000 },
  ) {
    const options = { connection, prefix };
    this.email = new Queue<EmailJob>(QUEUE_NAMES.email, options);
    this.fanout = new Queue<FanoutJob>(QUEUE_NAMES.fanout, options);
    this.send = new Queue<SendJob>(QUEUE_NAMES.send, options);
    this.feeds = new Queue<FeedJob>(QUEUE_NAMES.feeds, options);
    this.maintenance = new Queue<MaintenanceJob>(QUEUE_NAMES.maintenance, options);
    this.digest = new Queue<DigestJob>(QUEUE_NAMES.digest, options);
    this.digestSend = new Queue<DigestSendJob>(QUEUE_NAMES.digestSend, options);
  }

  /** All queues, for dashboards, metrics and shutdown. */
  all(): Queue[] {
    return [this.email, this.fanout, this.send, this.feeds, this.maintenance, this.digest, this.digestSend] as Queue[];
  }

  /** Looks a queue up by name. */
  byName(name: string): Queue | undefined {
    return this.all().find((q) => q.name === name);
  }

  /** Enqueues a transactional e-mail under its deterministic id (a no-op while that job exists). */
  async addEmail(job: EmailJob, jobId: string): Promise<void> {
    await this.emailAdds.submit({ job, jobId });
  }

  private async addEmailsNow(adds: { job: EmailJob; jobId: string }[]): Promise<PromiseSettledResult<void>[]> {
    await this.email.addBulk(adds.map(({ job, jobId }) => ({ name: job.kind, data: job, opts: { ...EMAIL_JOB_OPTIONS, jobId } })));
    return adds.map(() => ({ status: 'fulfilled', value: undefined }));
  }

  /** Enqueues an article's fan-out under its deterministic id (a no-op while that job exists). */
  async addFanout(articleId: number): Promise<void> {
    await this.fanout.add('fanout', { articleId }, { ...FANOUT_JOB_OPTIONS, jobId: fanoutJobId(articleId) });
  }

  /** Enqueues send batches in one round trip, each under its deterministic id. */
  async addSendJobs(jobs: SendJob[]): Promise<void> {
    if (jobs.length === 0) return;
    const opts = sendJobOptions(this.sendPolicy);
    await this.send.addBulk(jobs.map((data) => ({ name: 'send', data, opts: { ...opts, jobId: sendJobId(data.articleId, data.fromId) } })));
  }

  /** Closes every queue (not the shared connection). */
  async close(): Promise<void> {
    await Promise.all(this.all().map((q) => q.close()));
  }
}

/** The subscription lifecycle's e-mail work, as BullMQ jobs with deterministic ids. */
export class QueueSubscriptionMailJobs implements SubscriptionMailJobs {
  constructor(private readonly queues: JobQueues) {}

  async queueConfirmation(subscriberId: number, consentId: number, slot: ConfirmationSlot): Promise<void> {
    await this.queues.addEmail({ kind: 'confirm', consentId }, confirmationJobId('confirm', subscriberId, slot.windowStart, slot.count));
  }

  async queueAlreadySubscribed(subscriberId: number, slot: ConfirmationSlot, topics?: string[]): Promise<void> {
    await this.queues.addEmail(
      { kind: 'already-subscribed', subscriberId, ...(topics ? { topics } : {}) },
      confirmationJobId('already', subscriberId, slot.windowStart, slot.count),
    );
  }

  async queueWelcome(subscriberId: number, consentId: number): Promise<void> {
    await this.queues.addEmail({ kind: 'welcome', subscriberId, consentId }, welcomeJobId(consentId));
  }

  async forgetSubscriber(subscriberId: number, consentIds: number[]): Promise<void> {
    const consents = new Set(consentIds);
    const prefixes = [`confirm-${subscriberId}-`, `already-${subscriberId}-`]; // see confirmationJobId
    const names = (job: Job<EmailJob>) =>
      prefixes.some((p) => job.id?.startsWith(p)) ||
      ('subscriberId' in job.data && job.data.subscriberId === subscriberId) ||
      ('consentId' in job.data && consents.has(job.data.consentId));
    const page = 500;
    for (const state of ['completed', 'failed'] as const) {
      // Removing shifts the list: read each page from where the kept jobs end.
      for (let start = 0; ; ) {
        const jobs: Job<EmailJob>[] = (await this.queues.email.getJobs([state], start, start + page - 1)).filter(Boolean);
        const doomed = jobs.filter(names);
        await Promise.all(doomed.map((j) => j.remove()));
        if (jobs.length < page) break;
        start += jobs.length - doomed.length;
      }
    }
  }
}

/** Management-link requests as e-mail jobs with deterministic ids. */
export class QueueManageLinkJobs implements ManageLinkJobs {
  constructor(private readonly queues: JobQueues) {}

  async queueManageLink(requestId: number): Promise<void> {
    await this.queues.addEmail({ kind: 'manage-link', requestId }, manageLinkJobId(requestId));
  }
}

/** Article fan-outs as BullMQ jobs with deterministic ids. */
export class QueueFanoutJobs implements FanoutJobs {
  constructor(private readonly queues: JobQueues) {}

  async queueFanout(articleId: number): Promise<void> {
    await this.queues.addFanout(articleId);
  }
}

const LIVE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'paused', 'waiting-children'] as const;

/** Fan-out and send batches as BullMQ jobs, and what the reconciler needs to know about them. */
export class QueueDeliveryJobs implements ReconcileJobs {
  constructor(private readonly queues: JobQueues) {}

  async queueSendBatches(batches: SendBatch[]): Promise<void> {
    await this.queues.addSendJobs(batches);
  }

  async requeueSendBatches(batches: SendBatch[]): Promise<void> {
    for (const batch of batches) {
      const job = await this.queues.send.getJob(sendJobId(batch.articleId, batch.fromId));
      const state = job ? await job.getState() : 'missing';
      // a failed or completed job would make addBulk ignore the new one
      if (job && (state === 'failed' || state === 'completed')) await job.remove();
    }
    await this.queues.addSendJobs(batches);
  }

  async liveSendRanges(): Promise<Map<number, LiveRange[]>> {

    const jobs = await this.queues.send.getJobs([...LIVE_STATES], 0, -1);
    const byArticle = new Map<number, LiveRange[]>();
    for (const job of jobs) {
      if (!job?.data) continue;
      const list = byArticle.get(job.data.articleId) ?? [];
      list.push({ fromId: job.data.fromId, toId: job.data.toId });
      byArticle.set(job.data.articleId, list);
    }
    return byArticle;
  }

  async ensureFanout(articleId: number): Promise<'live' | 'added' | 'retried'> {
    const job = await this.queues.fanout.getJob(fanoutJobId(articleId));
    if (!job) {
      await this.queues.addFanout(articleId);
      return 'added';
    }
    const state = await job.getState();
    if (state === 'failed') {
      await job.retry('failed');
      return 'retried';
    }
    if (state === 'completed' || state === 'unknown') {
      await job.remove().catch(() => undefined);
      await this.queues.addFanout(articleId);
      return 'added';
    }
    return 'live';
  }
}

/** An operator's retry of failed deliveries as send jobs with fresh ids. */
export class QueueRetrySendJobs implements RetrySendJobs {
  constructor(private readonly queues: JobQueues) {}

  async queueRetry(ranges: DeliveryRange[]): Promise<void> {
    const opts = sendJobOptions(this.queues.sendPolicy);
    const at = Date.now();
    await this.queues.send.addBulk(ranges.map((data) => ({ name: 'send', data, opts: { ...opts, jobId: retrySendJobId(data.articleId, data.fromId, at) } })));
  }
}

/** Digest fan-outs and digest send batches as BullMQ jobs, and what the digest reconciler needs to know about them. */
export class QueueDigestJobs implements DigestJobs, DigestReconcileJobs {
  constructor(private readonly queues: JobQueues) {}

  async queueDigestFanout(runId: number): Promise<void> {
    await this.queues.digest.add('fanout', { kind: 'fanout', runId }, { ...FANOUT_JOB_OPTIONS, jobId: digestFanoutJobId(runId) });
  }

  async queueDigestSendBatches(batches: DigestSendBatch[]): Promise<void> {
    if (batches.length === 0) return;
    const opts = sendJobOptions(this.queues.sendPolicy);
    await this.queues.digestSend.addBulk(batches.map((data) => ({ name: 'digest-send', data, opts: { ...opts, jobId: digestSendJobId(data.runId, data.fromId) } })));
  }

  async requeueDigestSendBatches(batches: DigestSendBatch[]): Promise<void> {
    for (const batch of batches) {
      const job = await this.queues.digestSend.getJob(digestSendJobId(batch.runId, batch.fromId));
      const state = job ? await job.getState() : 'missing';
      // a failed or completed job would make addBulk ignore the new one
      if (job && (state === 'failed' || state === 'completed')) await job.remove();
    }
    await this.queueDigestSendBatches(batches);
  }

  async liveDigestSendRanges(): Promise<Map<number, LiveRange[]>> {
    const jobs = await this.queues.digestSend.getJobs([...LIVE_STATES], 0, -1);
    const byRun = new Map<number, LiveRange[]>();
    for (const job of jobs) {
      if (!job?.data) continue;
      byRun.set(job.data.runId, [...(byRun.get(job.data.runId) ?? []), { fromId: job.data.fromId, toId: job.data.toId }]);
    }
    return byRun;
  }

  async ensureDigestFanout(runId: number): Promise<'live' | 'added' | 'retried'> {
    const job = await this.queues.digest.getJob(digestFanoutJobId(runId));
    if (!job) {
      await this.queueDigestFanout(runId);
      return 'added';
    }
    const state = await job.getState();
    if (state === 'failed') {
      await job.retry('failed');
      return 'retried';
    }
    if (state === 'completed' || state === 'unknown') {
      await job.remove().catch(() => undefined);
      await this.queueDigestFanout(runId);
      return 'added';
    }
    return 'live';
  }
}
