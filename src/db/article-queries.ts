import { loadNamedQueries } from './named-queries.ts';
import type { Db } from './pool.ts';

const sql = loadNamedQueries('articles', [
  'insert-article',
  'get-article-by-guid',
  'get-article',
  'list-articles',
  'count-articles',
  'count-deliveries',
  'list-unknown-topics',
  'get-article-by-identity',
  'force-article-notify',
]);

/** How far an article's fan-out got. */
export type FanoutStatus = 'pending' | 'running' | 'done' | 'skipped';

/** An articles row. */
export interface ArticleRow {
  id: number;
  guid: string;
  url: string;
  title: string;
  summary: string | null;
  image_url: string | null;
  lang: string;
  source: string | null;
  topics: string[];
  published_at: Date;
  created_at: Date;
  notify: boolean;
  fanout_status: FanoutStatus;
  fanout_cursor: number;
  fanout_done_at: Date | null;
}

/** Values of a new article. */
export interface NewArticleRow {
  guid: string;
  url: string;
  title: string;
  summary: string | null;
  imageUrl: string | null;
  lang: string;
  source: string | null;
  topics: string[];
  publishedAt: Date | null;
  notify: boolean;
  /** the URL without tracking parameters, case and trailing-slash differences (see core/canonical-url.ts) */
  canonicalUrl: string;
}

/** Delivery ledger counts of one article. */
export interface DeliveryCounts {
  recipients: number;
  sent: number;
  failed: number;
  pending: number;
  suppressed: number;
}

/** Inserts an article; null when its guid exists already. */
export async function insertArticle(db: Db, a: NewArticleRow): Promise<ArticleRow | null> {
  const params = [a.guid, a.url, a.title, a.summary, a.imageUrl, a.lang, a.source, a.topics, a.publishedAt, a.notify, a.notify ? 'pending' : 'skipped', a.canonicalUrl];
  return (await db.query<ArticleRow>(sql['insert-article'], params)).rows[0] ?? null;
}

/** The first article with this guid or canonical URL, or null. */
export async function getArticleByIdentity(db: Db, guid: string, canonicalUrl: string): Promise<ArticleRow | null> {
  return (await db.query<ArticleRow>(sql['get-article-by-identity'], [guid, canonicalUrl])).rows[0] ?? null;
}

/** Turns on the notification of an article recorded without one; null when it had one already. */
export async function forceArticleNotify(db: Db, id: number): Promise<ArticleRow | null> {
  return (await db.query<ArticleRow>(sql['force-article-notify'], [id])).rows[0] ?? null;
}

/** The article with this guid, or null. */
export async function getArticleByGuid(db: Db, guid: string): Promise<ArticleRow | null> {
  return (await db.query<ArticleRow>(sql['get-article-by-guid'], [guid])).rows[0] ?? null;
}

/** The article with this id, or null. */
export async function getArticle(db: Db, id: number): Promise<ArticleRow | null> {
  return (await db.query<ArticleRow>(sql['get-article'], [id])).rows[0] ?? null;
}

/** A page of articles, newest publication first. */
export async function listArticles(db: Db, limit: number, offset: number): Promise<ArticleRow[]> {
  return (await db.query<ArticleRow>(sql['list-articles'], [limit, offset])).rows;
}

/** The number of articles. */
export async function countArticles(db: Db): Promise<number> {
  return (await db.query<{ total: number }>(sql['count-articles'])).rows[0]!.total;
}

/** The delivery ledger of an article counted by status. */
export async function countDeliveries(db: Db, articleId: number): Promise<DeliveryCounts> {
  return (await db.query<DeliveryCounts>(sql['count-deliveries'], [articleId])).rows[0]!;
}

/** The given slugs that are not topics. */
export async function listUnknownTopics(db: Db, slugs: string[]): Promise<string[]> {
  return (await db.query<{ slug: string }>(sql['list-unknown-topics'], [slugs])).rows.map((r) => r.slug);
}
