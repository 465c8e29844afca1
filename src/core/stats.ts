import {
  countDeliveriesByStatus,
  countSubscribersByStatus,
  countSubscribersByTopic,
  listFeeds,
  listRecentArticlesProgress,
  type ArticleProgressRow,
  type FeedRow,
  type StatusCounts,
  type TopicCount,
} from '../db/stats-queries.ts';
import type { Db } from '../db/pool.ts';
import { inboundStats, listMailboxStatus, type MailboxStatus } from '../db/inbound-queries.ts';

/** Job states an operator sees per queue. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'paused'] as const;
/** One queue state. */
export type QueueState = (typeof QUEUE_STATES)[number];

/** What an operator needs to know about one queue. */
export interface QueueStats {
  name: string;
  paused: boolean;
  counts: Record<QueueState, number>;
  /** age of the oldest job waiting (or held by a pause), in seconds; 0 when none waits */
  oldestWaitingSeconds: number;
  /** worker connections on the queue; null when the broker does not tell */
  workers: number | null;
}

/** Reads the state of every queue (implemented on BullMQ in src/jobs/queue-stats.ts). */
export interface QueueInspector {
  readAll(): Promise<QueueStats[]>;
}

/** Subscriber statuses and delivery statuses, always present in counts (0 when none). */
export const SUBSCRIBER_STATUSES = ['pending', 'active', 'unsubscribed'] as const;
export const DELIVERY_STATUSES = ['pending', 'sent', 'failed', 'suppressed'] as const;

/** Outcomes of inbound messages, always present in counts; 'error' = attempts that threw, 'unknown' + 'unmatched' = left for a person. */
export const INBOUND_OUTCOMES = ['suppressed', 'delivery_failed', 'soft', 'unsubscribed', 'ignored', 'unmatched', 'unknown', 'error'] as const;

/** Everything GET /api/stats and `cli status` show. */
export interface OperationsStats {
  generatedAt: Date;
  subscribers: { byStatus: StatusCounts; byTopic: TopicCount[] };
  deliveries: { last24h: StatusCounts; last7d: StatusCounts };
  queues: QueueStats[];
  oldestWaitingSeconds: number;
  feeds: FeedRow[];
  articles: ArticleProgressRow[];
  /** mail that came back in the last 24 h by outcome ('error' = attempts that threw), and each mailbox's last pass */
  inbound: { last24h: StatusCounts; mailboxes: MailboxStatus[] };
}

/** Fills in zero for every known status that has no rows. */
export function withAllStatuses(counts: StatusCounts, statuses: readonly string[]): StatusCounts {
  return Object.fromEntries([...new Set([...statuses, ...Object.keys(counts)])].map((s) => [s, counts[s] ?? 0]));
}

/** The counts behind the Prometheus database gauges: subscribers and deliveries by status, and the feeds. */
export async function collectGaugeCounts(db: Db): Promise<{ subscribers: StatusCounts; deliveries: StatusCounts; feeds: FeedRow[] }> {
  const [subscribers, deliveries, feeds] = await Promise.all([countSubscribersByStatus(db), countDeliveriesByStatus(db), listFeeds(db)]);
  return { subscribers, deliveries, feeds };
}

/** Collects the operator's overview from PostgreSQL and the queues. */
export async function collectStats(db: Db, queues: QueueInspector, now = new Date(), articleLimit = 10): Promise<OperationsStats> {
  const day = new Date(now.getTime() - 86_400_000);
  const week = new Date(now.getTime() - 7 * 86_400_000);
  const [byStatus, byTopic, last24h, last7d, queueStats, feeds, articles, inbound, mailboxes] = await Promise.all([
    countSubscribersByStatus(db),
    countSubscribersByTopic(db),
    countDeliveriesByStatus(db, day),
    countDeliveriesByStatus(db, week),
    queues.readAll(),
    listFeeds(db),
    listRecentArticlesProgress(db, articleLimit),
    inboundStats(db),
    listMailboxStatus(db),
  ]);
  return {
    generatedAt: now,
    subscribers: { byStatus: withAllStatuses(byStatus, SUBSCRIBER_STATUSES), byTopic },
    deliveries: { last24h: withAllStatuses(last24h, DELIVERY_STATUSES), last7d: withAllStatuses(last7d, DELIVERY_STATUSES) },
    queues: queueStats,
    oldestWaitingSeconds: Math.max(0, ...queueStats.map((q) => q.oldestWaitingSeconds)),
    feeds,
    articles,
    inbound: { last24h: withAllStatuses(inbound, INBOUND_OUTCOMES), mailboxes },
  };
}
