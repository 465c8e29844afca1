import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { QueueStats } from '../core/stats.ts';
import type { FeedRow, StatusCounts } from '../db/stats-queries.ts';

/**
 * Prometheus metrics of one process. Counters and histograms are per process (each API and worker process
 * counts what it did; Prometheus sums them); gauges marked "global" are read from Redis or PostgreSQL at
 * scrape time and show the same value in every process. docs/operations.md lists them all.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

/** Kinds of e-mail the counters distinguish. */
export type EmailKind = 'confirmation' | 'already-subscribed' | 'welcome' | 'notification' | 'digest' | 'canary' | 'manage-link';
/** What happened to one e-mail attempt. */
export type EmailOutcome = 'sent' | 'failed' | 'retried' | 'suppressed';

const emails = new Counter({
  name: 'powiadom_emails_total',
  help: 'E-mail outcomes by kind (per process): sent, failed (given up), retried (will be tried again), suppressed (not sent on purpose)',
  labelNames: ['kind', 'outcome'] as const,
  registers: [registry],
});
const smtpFailures = new Counter({
  name: 'powiadom_smtp_failures_total',
  help: 'Failed SMTP sends by classification (per process): server-unavailable, configuration, transient, unknown-user, permanent',
  labelNames: ['failure'] as const,
  registers: [registry],
});
const smtpLatency = new Histogram({
  name: 'powiadom_smtp_send_duration_seconds',
  help: 'The SMTP transaction of one message (MAIL FROM to the reply to the end of DATA), successful or not; transactional e-mail includes its connection (per process)',
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});
const smtpWait = new Histogram({
  name: 'powiadom_smtp_connection_wait_seconds',
  help: 'Time a notification waited for a pooled SMTP connection, opening one included (per process)',
  buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});
const smtpPoolLimitLowered = new Counter({
  name: 'powiadom_smtp_pool_limit_lowered_total',
  help: 'Times the SMTP server refused an extra connection and a pool lowered its connection limit (per process)',
  registers: [registry],
});
const jobDuration = new Histogram({
  name: 'powiadom_job_duration_seconds',
  help: 'Processing time of finished jobs by queue and outcome (per process)',
  labelNames: ['queue', 'outcome'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
  registers: [registry],
});
const httpRequests = new Counter({
  name: 'powiadom_http_requests_total',
  help: 'HTTP requests by method, route pattern and status (per process)',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [registry],
});
const httpDuration = new Histogram({
  name: 'powiadom_http_request_duration_seconds',
  help: 'HTTP request duration by method, route pattern and status (per process)',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

/** Gauges filled at scrape time from Redis and PostgreSQL (global values). */
export const scrapeGauges = {
  queueJobs: new Gauge({
    name: 'powiadom_queue_jobs',
    help: 'Jobs per queue and state, read from Redis at scrape time (global)',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
  }),
  oldestWaiting: new Gauge({
    name: 'powiadom_queue_oldest_waiting_seconds',
    help: 'Age of the oldest waiting job per queue, 0 when none waits (global)',
    labelNames: ['queue'] as const,
    registers: [registry],
  }),
  workers: new Gauge({
    name: 'powiadom_queue_workers',
    help: 'Worker connections per queue as Redis reports them (global)',
    labelNames: ['queue'] as const,
    registers: [registry],
  }),
  queuePaused: new Gauge({
    name: 'powiadom_queue_paused',
    help: '1 while a queue is paused (global)',
    labelNames: ['queue'] as const,
    registers: [registry],
  }),
  subscribers: new Gauge({
    name: 'powiadom_subscribers',
    help: 'Subscribers by status, read from PostgreSQL (global, cached 5 s)',
    labelNames: ['status'] as const,
    registers: [registry],
  }),
  deliveries: new Gauge({
    name: 'powiadom_deliveries',
    help: 'Deliveries (article × subscriber) by status, read from PostgreSQL (global, cached 5 s)',
    labelNames: ['status'] as const,
    registers: [registry],
  }),
  feedLastPoll: new Gauge({
    name: 'powiadom_feed_last_poll_timestamp_seconds',
    help: 'Unix time of the last poll of each feed, successful or not (global)',
    labelNames: ['feed'] as const,
    registers: [registry],
  }),
  feedLastOk: new Gauge({
    name: 'powiadom_feed_last_success_timestamp_seconds',
    help: 'Unix time of the last successful poll of each feed (global)',
    labelNames: ['feed'] as const,
    registers: [registry],
  }),
  feedFailing: new Gauge({
    name: 'powiadom_feed_failing',
    help: '1 while the last poll of a feed failed (global)',
    labelNames: ['feed'] as const,
    registers: [registry],
  }),
};

/** 1 while the workers find the SMTP server in this state (unavailable, configuration), read from Redis at scrape time (global). */
export const smtpProblem = new Gauge({
  name: 'powiadom_smtp_problem',
  help: 'SMTP server state the workers last saw, read from Redis (global): 1 for the current problem (unavailable: down or throttling; configuration: refuses our settings — alert), 0 otherwise',
  labelNames: ['problem'] as const,
  registers: [registry],
});

/** Unix time of the last successful canary send, read from Redis at scrape time (global). */
export const canaryLastSuccess = new Gauge({
  name: 'powiadom_canary_last_success_timestamp_seconds',
  help: 'Unix time of the last canary e-mail accepted by the SMTP server, read from Redis (global; 0 until the first one, only with CANARY_EMAIL)',
  registers: [registry],
});

/** Counts one e-mail outcome: call once per attempt (retried) and once per final outcome. */
export function recordEmailOutcome(kind: EmailKind, outcome: EmailOutcome, count = 1): void {
  emails.inc({ kind, outcome }, count);
}

/** Records the time one SMTP send took, in seconds. */
export function observeSmtpLatency(seconds: number): void {
  smtpLatency.observe(seconds);
}

/** Records how long a notification waited for a pooled SMTP connection. */
export function observeSmtpWait(seconds: number): void {
  smtpWait.observe(seconds);
}

/** Counts one lowering of a pool's connection limit by a relay's refusal. */
export function recordPoolLimitLowered(): void {
  smtpPoolLimitLowered.inc();
}

/** Counts a failed SMTP send by its classification (src/mail/smtp-errors.ts). */
export function recordSmtpFailure(failure: string): void {
  smtpFailures.inc({ failure });
}

/** Records the processing time of a finished job. */
export function observeJobDuration(queue: string, outcome: 'completed' | 'failed', seconds: number): void {
  jobDuration.observe({ queue, outcome }, seconds);
}

/** Records one answered HTTP request; `route` must be a pattern, never a raw path (tokens). */
export function observeHttpRequest(method: string, route: string, status: number, seconds: number): void {
  const labels = { method, route, status: String(status) };
  httpRequests.inc(labels);
  httpDuration.observe(labels, seconds);
}

/** Runs `send`, recording its latency and, when it throws, nothing else (the caller classifies). */
export async function timeSmtpSend<T>(send: () => Promise<T>): Promise<T> {
  const started = process.hrtime.bigint();
  try {
    return await send();
  } finally {
    observeSmtpLatency(Number(process.hrtime.bigint() - started) / 1e9);
  }
}

/** Sets the queue gauges from freshly read queue stats. */
export function setQueueGauges(stats: QueueStats[]): void {
  const g = scrapeGauges;
  g.queueJobs.reset();
  g.workers.reset();
  for (const q of stats) {
    for (const [state, count] of Object.entries(q.counts)) g.queueJobs.set({ queue: q.name, state }, count);
    g.oldestWaiting.set({ queue: q.name }, q.oldestWaitingSeconds);
    g.queuePaused.set({ queue: q.name }, q.paused ? 1 : 0);
    if (q.workers !== null) g.workers.set({ queue: q.name }, q.workers);
  }
}

/** What the scrape reads from PostgreSQL. */
export interface DatabaseSnapshot {
  subscribers: StatusCounts;
  deliveries: StatusCounts;
  feeds: FeedRow[];
}

/** Sets the PostgreSQL gauges from a snapshot. */
export function setDatabaseGauges(snapshot: DatabaseSnapshot): void {
  const g = scrapeGauges;
  for (const gauge of [g.subscribers, g.deliveries, g.feedLastPoll, g.feedLastOk, g.feedFailing]) gauge.reset();
  for (const [status, count] of Object.entries(snapshot.subscribers)) g.subscribers.set({ status }, count);
  for (const [status, count] of Object.entries(snapshot.deliveries)) g.deliveries.set({ status }, count);
  for (const feed of snapshot.feeds) {
    if (feed.last_poll_at) g.feedLastPoll.set({ feed: feed.url }, feed.last_poll_at.getTime() / 1000);
    if (feed.last_ok_at) g.feedLastOk.set({ feed: feed.url }, feed.last_ok_at.getTime() / 1000);
    g.feedFailing.set({ feed: feed.url }, feed.last_error ? 1 : 0);
  }
}

/** The metrics of this process in prom-client's JSON form (what a child process hands its parent). */
export type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

const globalGaugeNames = new Set<string>([...Object.values(scrapeGauges), canaryLastSuccess, smtpProblem].map((gauge) => (gauge as unknown as { name: string }).name));

/**
 * This process's own metrics for another process to add to its /metrics: counters, histograms and the
 * default process metrics, without the global gauges (only the process answering the scrape sets those).
 */
export async function processLocalMetrics(): Promise<MetricsJson> {
  return (await registry.getMetricsAsJSON()).filter((metric) => !globalGaugeNames.has(metric.name));
}

const extraSources: (() => Promise<MetricsJson[]>)[] = [];

/** Adds other threads' or processes' metrics to this process's /metrics (sender threads, the other API processes of a cluster). */
export function addMetricsSource(source: () => Promise<MetricsJson[]>): void {
  extraSources.push(source);
}

/**
 * The Prometheus text of this process, summed with the metrics of its sender threads or sibling API processes
 * (counters and histograms add up; the scrape-time gauges are only set here).
 */
export async function renderMetrics(): Promise<string> {
  if (extraSources.length === 0) return registry.metrics();
  const others = (await Promise.all(extraSources.map((source) => source().catch(() => [])))).flat();
  return AggregatorRegistry.aggregate([await registry.getMetricsAsJSON(), ...others]).metrics();
}
