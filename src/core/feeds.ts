import Parser from 'rss-parser';
import type { FeedSource } from '../config.ts';
import * as feeds from '../db/feed-queries.ts';
import type { Db } from '../db/pool.ts';
import type { Logger } from '../log.ts';
import type { ArticleInput, ArticleView } from './articles.ts';
import { UnknownTopicError, ValidationError } from './errors.ts';

/** Validators of a conditional GET, as the feed's server last sent them. */
export interface FeedValidators {
  etag: string | null;
  lastModified: string | null;
}

/** What one fetch returned. */
export type FetchedFeed = { notModified: true } | { notModified: false; body: string; etag: string | null; lastModified: string | null };

/** Fetching a feed; src/adapters/feed-fetcher.ts implements it over http(s). Throws when the feed is unreachable. */
export interface FeedFetcher {
  fetchFeed(url: string, validators: FeedValidators): Promise<FetchedFeed>;
}

/** Where new items go: ArticleService, exactly as POST /api/articles. */
export interface ArticlePublisher {
  publish(input: ArticleInput, options: { notify?: boolean }): Promise<{ article: ArticleView; created: boolean }>;
}

/** Settings of the watcher. */
export interface FeedSettings {
  /** items published longer ago than this are recorded, never notified */
  maxArticleAgeHours: number;
  /** topic of items whose FEEDS entry names none */
  defaultTopic: string;
}

/** The outcome of polling one feed. */
export interface FeedPollResult {
  url: string;
  status: 'fetched' | 'not-modified' | 'failed';
  /** the first successful poll of a feed records its items silently */
  firstPoll: boolean;
  created: number;
  notified: number;
  /** items left out as invalid (no link, bad URL, unknown topic...) */
  skipped: number;
  error?: string;
}

type FeedItem = Parser.Item & { id?: string };

const MAX_TITLE = 1000;
const MAX_SUMMARY = 4000;

function isHttpUrl(value: string | undefined): value is string {
  return value !== undefined && /^https?:\/\//i.test(value) && URL.canParse(value);
}

function parseDate(value: string | undefined): Date | null {
  const date = value ? new Date(value) : null;
  return date && !Number.isNaN(date.getTime()) ? date : null;
}

/** The article a feed item becomes, or null when it has no usable link or title. */
export function articleFromItem(item: FeedItem, feed: { url: string; topic: string; lang: 'pl' | 'en' }): ArticleInput | null {
  const guid = [item.guid, item.id].find((v): v is string => typeof v === 'string' && v.trim() !== '')?.trim();
  const url = isHttpUrl(item.link) ? item.link : isHttpUrl(guid) ? guid : undefined;
  const title = item.title?.trim();
  if (!url || !title) return null;
  const summary = (item.contentSnippet ?? item.summary)?.trim();
  const image = item.enclosure?.type?.startsWith('image/') && isHttpUrl(item.enclosure.url) ? item.enclosure.url : null;
  return {
    guid: guid ?? url,
    url,
    title: title.slice(0, MAX_TITLE),
    summary: summary ? summary.slice(0, MAX_SUMMARY) : null,
    publishedAt: parseDate(item.isoDate ?? item.pubDate),
    topics: [feed.topic],
    imageUrl: image,
    lang: feed.lang,
    source: feed.url,
  };
}

/** Removes credentials from a URL before it is logged. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username || parsed.password) [parsed.username, parsed.password] = ['***', ''];
    return parsed.href;
  } catch {
    return '(invalid URL)';
  }
}

/**
 * Polls RSS 2.0 and Atom feeds and publishes new items as articles. The first successful poll of a
 * feed records what is there without notifying; later polls notify new items unless they are too old.
 * Publishing is idempotent on the item's guid (else its link), so a repeated or concurrent poll is harmless.
 */
export class FeedWatcher {
  private readonly parser = new Parser();

  constructor(
    private readonly db: Db,
    private readonly fetcher: FeedFetcher,
    private readonly articles: ArticlePublisher,
    private readonly settings: FeedSettings,
    private readonly log: Logger,
  ) {}

  /** Polls every feed; one broken feed never stops the others. */
  async pollAll(sources: FeedSource[]): Promise<FeedPollResult[]> {
    return Promise.all(sources.map((source) => this.poll(source)));
  }

  /** Polls one feed and records the outcome in the feeds table. */
  async poll(source: FeedSource): Promise<FeedPollResult> {
    const log = this.log.child({ feed: redactUrl(source.url) });
    const state = await feeds.ensureFeed(this.db, source.url, source.topic ?? null);
    const firstPoll = state.first_poll_at === null;
    const result: FeedPollResult = { url: source.url, status: 'failed', firstPoll, created: 0, notified: 0, skipped: 0 };
    try {
      const fetched = await this.fetcher.fetchFeed(source.url, { etag: state.etag, lastModified: state.last_modified });
      if (fetched.notModified) {
        await feeds.recordFeedNotModified(this.db, source.url);
        return { ...result, status: 'not-modified' };
      }
      await this.publishItems(fetched.body, source, firstPoll, result, log);
      await feeds.recordFeedFetched(this.db, source.url, fetched.etag, fetched.lastModified);
      log.info({ created: result.created, notified: result.notified, skipped: result.skipped, firstPoll }, 'feed polled');
      return { ...result, status: 'fetched' };
    } catch (err) {
      const error = (err as Error).message || String(err);
      log.warn({ err: error }, 'feed poll failed; retried at the next poll');
      await feeds.recordFeedError(this.db, source.url, error).catch((e: unknown) => log.error({ err: (e as Error).message }, 'could not record the feed error'));
      return { ...result, status: 'failed', error };
    }
  }

  /** Parses the body and publishes its items, oldest first. Invalid items are skipped; any other error aborts the poll. */
  private async publishItems(body: string, source: FeedSource, firstPoll: boolean, result: FeedPollResult, log: Logger): Promise<void> {
    const parsed = await this.parseFeed(body);
    const lang = /^en\b/i.test(parsed.language ?? '') ? 'en' : 'pl';
    const feed = { url: source.url, topic: source.topic ?? this.settings.defaultTopic, lang } as const;
    const oldest = Date.now() - this.settings.maxArticleAgeHours * 3_600_000;
    const items = parsed.items.map((item) => articleFromItem(item, feed));
    for (const input of items.reverse()) {
      if (!input) {
        result.skipped++;
        continue;
      }
      const published = input.publishedAt instanceof Date ? input.publishedAt.getTime() : Date.now();
      const notify = !firstPoll && published >= oldest;
      try {
        const { article, created } = await this.articles.publish(input, { notify });
        if (created) result.created++;
        if (created && article.notify) result.notified++;
      } catch (err) {
        // Bad data in one item is skipped. An unknown topic is the configuration's fault and fails the
        // whole poll: recording the items anyway would blast them all once the topic is created.
        if (!(err instanceof ValidationError) || err instanceof UnknownTopicError) throw err;
        result.skipped++;
        log.warn({ err: err.message, fields: err.fields, guid: input.guid }, 'feed item skipped');
      }
    }
  }

  private async parseFeed(body: string): Promise<{ items: FeedItem[]; language?: string }> {
    try {
      return (await this.parser.parseString(body)) as { items: FeedItem[]; language?: string };
    } catch (err) {
      throw new Error(`not a valid RSS or Atom feed: ${(err as Error).message.split('\n')[0]}`, { cause: err });
    }
  }
}
