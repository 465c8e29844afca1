import { loadNamedQueries } from './named-queries.ts';
import type { Db } from './pool.ts';

const sql = loadNamedQueries('console', ['subscriber-deliveries', 'article-failures-by-reason']);

/** One notification sent (or not) to a subscriber. */
export interface SubscriberDeliveryRow {
  article_id: number;
  title: string;
  status: string;
  attempts: number;
  last_error: string | null;
  created_at: Date;
  sent_at: Date | null;
  updated_at: Date;
}

/** A subscriber's newest `limit` deliveries. */
export async function listSubscriberDeliveries(db: Db, subscriberId: number, limit: number): Promise<SubscriberDeliveryRow[]> {
  return (await db.query<SubscriberDeliveryRow>(sql['subscriber-deliveries'], [subscriberId, limit])).rows;
}

/** Failed deliveries of an article sharing one error. */
export interface FailureGroupRow {
  reason: string;
  count: number;
  emails: string[] | null;
}

/** An article's failed deliveries grouped by error, biggest first. */
export async function listArticleFailures(db: Db, articleId: number): Promise<FailureGroupRow[]> {
  return (await db.query<FailureGroupRow>(sql['article-failures-by-reason'], [articleId])).rows;
}
