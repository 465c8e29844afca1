import * as articles from '../db/article-queries.ts';
import type { ArticleRow, DeliveryCounts, FanoutStatus } from '../db/article-queries.ts';
import type { Db } from '../db/pool.ts';
import { UnknownTopicError, ValidationError } from './errors.ts';
import { canonicalUrl } from './canonical-url.ts';

/** An article as published by the office (the API body, a feed item, the CLI). */
export interface ArticleInput {
  /** idempotency key; the URL when absent */
  guid?: string;
  url: string;
  title: string;
  summary?: string | null;
  publishedAt?: string | Date | null;
  topics: string[];
  imageUrl?: string | null;
  lang?: 'pl' | 'en';
  source?: string | null;
}

/** An article as the rest of the application sees it. */
export interface ArticleView {
  id: number;
  guid: string;
  url: string;
  title: string;
  summary: string | null;
  imageUrl: string | null;
  lang: string;
  source: string | null;
  topics: string[];
  publishedAt: Date;
  createdAt: Date;
  notify: boolean;
  fanoutStatus: FanoutStatus;
}

/** A page request: 1-based page number and page size. */
export interface PageRequest {
  page: number;
  perPage: number;
}

/** A page of articles with the total count. */
export interface ArticlePage {
  items: ArticleView[];
  page: number;
  perPage: number;
  total: number;
}

/** How to publish: `notify: false` never notifies; `maxAgeHours` holds back old articles unless `force`. */
export interface PublishOptions {
  notify?: boolean;
  maxAgeHours?: number;
  force?: boolean;
}

/** What publishing did; `reason: 'too_old'` when the article was recorded without notification for its age. */
export interface PublishOutcome {
  article: ArticleView;
  created: boolean;
  reason?: 'too_old';
  /** a known article recorded without notification was notified now (`force`) */
  notifiedNow?: true;
}

/** Starting the notification of an article: implemented with BullMQ in src/jobs/jobs.ts. */
export interface FanoutJobs {
  /** Enqueues the article's fan-out; idempotent per article. */
  queueFanout(articleId: number): Promise<void>;
}

export type { DeliveryCounts };

/** Maps a row to the view. */
export function toArticleView(row: ArticleRow): ArticleView {
  return {
    id: row.id,
    guid: row.guid,
    url: row.url,
    title: row.title,
    summary: row.summary,
    imageUrl: row.image_url,
    lang: row.lang,
    source: row.source,
    topics: row.topics,
    publishedAt: row.published_at,
    createdAt: row.created_at,
    notify: row.notify,
    fanoutStatus: row.fanout_status,
  };
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Throws a ValidationError naming every bad field of an article (URLs must be http(s)). */
export function checkArticleInput(input: ArticleInput): void {
  const fields: Record<string, string> = {};
  if (!isHttpUrl(input.url)) fields.url = 'must be an http(s) URL';
  if (input.imageUrl && !isHttpUrl(input.imageUrl)) fields.imageUrl = 'must be an http(s) URL';
  if (!input.title?.trim()) fields.title = 'is required';
  if (!Array.isArray(input.topics) || input.topics.length === 0) fields.topics = 'must name at least one topic';
  if (Object.keys(fields).length > 0) throw new ValidationError('The article is not valid.', fields);
}

/**
 * Records articles, idempotently on guid (else URL), and starts their notification exactly once.
 * The delivery ledger (deliveries) is written by the fan-out, never here.
 */
export class ArticleService {
  constructor(
    private readonly db: Db,
    private readonly jobs: FanoutJobs,
  ) {}

  /**
   * Records an article; `notify: false` records it without notifying anyone. The same guid or the same
   * canonical URL again → created false and the first article. With `maxAgeHours`, an article published
   * longer ago is recorded but not notified (reason 'too_old') unless `force`; `force` on a known article
   * recorded without notification notifies it now.
   */
  async publish(input: ArticleInput, options: PublishOptions = {}): Promise<PublishOutcome> {
    checkArticleInput(input);
    const topics = [...new Set(input.topics)];
    const unknown = await articles.listUnknownTopics(this.db, topics);
    if (unknown.length > 0) throw new UnknownTopicError(unknown);
    const guid = (input.guid?.trim() || input.url).slice(0, 2000);
    const publishedAt = input.publishedAt ? new Date(input.publishedAt) : null;
    const tooOld = options.maxAgeHours !== undefined && publishedAt !== null && publishedAt.getTime() < Date.now() - options.maxAgeHours * 3_600_000;
    const notify = options.notify !== false && (!tooOld || options.force === true);
    const canonical = canonicalUrl(input.url);
    const inserted = await articles.insertArticle(this.db, {
      guid,
      url: input.url,
      title: input.title.trim(),
      summary: input.summary?.trim() || null,
      imageUrl: input.imageUrl || null,
      lang: input.lang ?? 'pl',
      source: input.source?.trim() || null,
      topics,
      publishedAt,
      notify,
      canonicalUrl: canonical,
    });
    let row = inserted ?? (await articles.getArticleByIdentity(this.db, guid, canonical));
    if (!row) throw new Error(`article ${guid} vanished after insert`);
    const forced = !inserted && options.force === true && options.notify !== false ? await articles.forceArticleNotify(this.db, row.id) : null;
    row = forced ?? row;
    // A republish re-enqueues an unfinished fan-out: harmless (one job per article), and it heals a
    // first publish whose enqueue failed while Redis was away.
    if (row.notify && (row.fanout_status === 'pending' || row.fanout_status === 'running')) await this.jobs.queueFanout(row.id);
    const reason = !row.notify && tooOld && options.notify !== false ? { reason: 'too_old' as const } : {};
    return { article: toArticleView(row), created: inserted !== null, ...reason, ...(forced ? { notifiedNow: true as const } : {}) };
  }

  /** One article, or null. */
  async get(id: number): Promise<ArticleView | null> {
    const row = await articles.getArticle(this.db, id);
    return row ? toArticleView(row) : null;
  }

  /** A page of articles, newest publication first. */
  async list(page: PageRequest): Promise<ArticlePage> {
    const [rows, total] = await Promise.all([
      articles.listArticles(this.db, page.perPage, (page.page - 1) * page.perPage),
      articles.countArticles(this.db),
    ]);
    return { items: rows.map(toArticleView), page: page.page, perPage: page.perPage, total };
  }

  /** The delivery ledger of an article counted by status. */
  async deliveryCounts(id: number): Promise<DeliveryCounts> {
    return articles.countDeliveries(this.db, id);
  }
}
