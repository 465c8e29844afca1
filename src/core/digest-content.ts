import type { DigestArticle, DigestFrequency } from '../db/digest-queries.ts';
import type { Topic } from '../db/topic-queries.ts';

/** A section heading of a digest with its articles, newest first; `topic` is null when the reader follows one section. */
export interface DigestGroup {
  topic: Topic | null;
  articles: DigestArticle[];
}

/** What one digest e-mail says; every recipient with the same `key` gets the same message. */
export interface DigestContent {
  runId: number;
  frequency: DigestFrequency;
  /** end of the run's period: the date in the subject */
  periodEnd: Date;
  groups: DigestGroup[];
  /** run, sections and articles: recipients who share it share one built message */
  key: string;
  articleCount: number;
}

/** What a subscriber follows and since when articles are theirs. */
export interface DigestReader {
  topics: string[];
  /** only articles recorded after this instant (confirmation, last frequency change) */
  since: Date | null;
}

/** The run a digest belongs to, with its articles newest first and the topics in display order. */
export interface DigestRunContext {
  runId: number;
  frequency: DigestFrequency;
  periodEnd: Date;
  articles: DigestArticle[];
  topics: Topic[];
}

/**
 * The digest of one reader: the run's articles in the reader's sections recorded after `since`, grouped by
 * section (in the topics' order) when the reader follows several; each article once, under the first of its
 * sections the reader follows. Null when nothing is new for the reader.
 */
export function buildDigestContent(run: DigestRunContext, reader: DigestReader): DigestContent | null {
  const followed = run.topics.filter((t) => reader.topics.includes(t.slug));
  const since = reader.since?.getTime() ?? Number.NEGATIVE_INFINITY;
  const mine = run.articles.filter((a) => a.created_at.getTime() > since && a.topics.some((slug) => reader.topics.includes(slug)));
  if (mine.length === 0) return null;
  let groups: DigestGroup[];
  if (followed.length <= 1) {
    groups = [{ topic: null, articles: mine }];
  } else {
    groups = followed
      .map((topic) => ({ topic, articles: mine.filter((a) => firstFollowed(a, followed) === topic.slug) }))
      .filter((g) => g.articles.length > 0);
  }
  const key = `${run.runId}|${groups.map((g) => `${g.topic?.slug ?? ''}:${g.articles.map((a) => a.id).join(',')}`).join('|')}`;
  return { runId: run.runId, frequency: run.frequency, periodEnd: run.periodEnd, groups, key, articleCount: mine.length };
}

function firstFollowed(article: DigestArticle, followed: Topic[]): string | undefined {
  return followed.find((t) => article.topics.includes(t.slug))?.slug;
}
