import { loadNamedQueries } from './named-queries.ts';
import type { Db } from './pool.ts';

const sql = loadNamedQueries('stats', [
  'subscribers-by-status',
  'subscribers-by-topic',
  'deliveries-by-status',
  'deliveries-by-status-since',
  'list-feeds',
  'recent-articles-progress',
]);

/** A count per status. */
export type StatusCounts = Record<string, number>;

/** A topic's subscriber counts. */
export interface TopicCount {
  slug: string;
  active: number;
  total: number;
}

/** A polled feed's state. */
export interface FeedRow {
  url: string;
  topic: string | null;
  last_poll_at: Date | null;
  last_ok_at: Date | null;
  last_error: string | null;
}

/** An article with its delivery progress. */
export interface ArticleProgressRow {
  id: number;
  title: string;
  url: string;
  topics: string[];
  published_at: Date;
  created_at: Date;
  notify: boolean;
  fanout_status: string;
  fanout_done_at: Date | null;
  total: number;
  pending: number;
  sent: number;
  failed: number;
  suppressed: number;
}

function toCounts(rows: { status: string; count: number }[]): StatusCounts {
  return Object.fromEntries(rows.map((r) => [r.status, r.count]));
}

/** Subscribers per status. */
export async function countSubscribersByStatus(db: Db): Promise<StatusCounts> {
  return toCounts((await db.query<{ status: string; count: number }>(sql['subscribers-by-status'])).rows);
}

/** Subscribers per topic. */
export async function countSubscribersByTopic(db: Db): Promise<TopicCount[]> {
  return (await db.query<TopicCount>(sql['subscribers-by-topic'])).rows;
}

/** Deliveries per status, over the whole ledger or changed since a moment. */
export async function countDeliveriesByStatus(db: Db, since?: Date): Promise<StatusCounts> {
  const result = since
    ? await db.query<{ status: string; count: number }>(sql['deliveries-by-status-since'], [since])
    : await db.query<{ status: string; count: number }>(sql['deliveries-by-status']);
  return toCounts(result.rows);
}

/** Every polled feed. */
export async function listFeeds(db: Db): Promise<FeedRow[]> {
  return (await db.query<FeedRow>(sql['list-feeds'])).rows;
}

/** The newest articles with their delivery counts. */
export async function listRecentArticlesProgress(db: Db, limit: number): Promise<ArticleProgressRow[]> {
  return (await db.query<ArticleProgressRow>(sql['recent-articles-progress'], [limit])).rows;
}
