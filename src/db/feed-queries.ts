import { loadNamedQueries } from './named-queries.ts';
import type { Db } from './pool.ts';

const sql = loadNamedQueries('feeds', ['ensure-feed', 'record-feed-fetched', 'record-feed-not-modified', 'record-feed-error']);

/** A feeds row: the watcher's memory of one feed. */
export interface FeedRow {
  url: string;
  topic: string | null;
  etag: string | null;
  last_modified: string | null;
  first_poll_at: Date | null;
  last_poll_at: Date | null;
  last_ok_at: Date | null;
  last_error: string | null;
}

/** Registers a feed (updating its topic) and returns its state. */
export async function ensureFeed(db: Db, url: string, topic: string | null): Promise<FeedRow> {
  return (await db.query<FeedRow>(sql['ensure-feed'], [url, topic])).rows[0]!;
}

/** Records a full fetch whose items were all recorded, with its validators. */
export async function recordFeedFetched(db: Db, url: string, etag: string | null, lastModified: string | null): Promise<void> {
  await db.query(sql['record-feed-fetched'], [url, etag, lastModified]);
}

/** Records a 304 Not Modified answer. */
export async function recordFeedNotModified(db: Db, url: string): Promise<void> {
  await db.query(sql['record-feed-not-modified'], [url]);
}

/** Records a failed poll. */
export async function recordFeedError(db: Db, url: string, error: string): Promise<void> {
  await db.query(sql['record-feed-error'], [url, error.slice(0, 1000)]);
}
