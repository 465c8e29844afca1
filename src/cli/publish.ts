import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parseArticleMarkdown, topicFromUrl } from '../core/article-markdown.ts';
import type { ArticleInput } from '../core/articles.ts';
import { TopicCatalog } from '../core/topics.ts';
import type { Deps } from '../deps.ts';
import { articleSchema } from '../http/schemas.ts';
import { print, UsageError } from './context.ts';

/** Options of `publish`. */
export interface PublishOptions {
  topic?: string[];
  notify: boolean;
  /** notify even when older than MAX_ARTICLE_AGE_HOURS */
  force?: boolean;
}

async function readArticle(file: string, topics: string[] | undefined, known: string[]): Promise<ArticleInput> {
  const ext = extname(file).toLowerCase();
  if (ext !== '.json' && ext !== '.md') throw new UsageError(`Cannot publish ${file}: give a .json or .md file.`);
  const text = await readFile(file, 'utf8');
  if (ext === '.md') {
    const article = parseArticleMarkdown(text);
    const fromUrl = topicFromUrl(article.url, known);
    const chosen = topics ?? (fromUrl ? [fromUrl] : null);
    if (!chosen) throw new UsageError(`No topic in the URL's path ${new URL(article.url).pathname}: give --topic (one of ${known.join(', ')}).`);
    return { ...article, topics: chosen };
  }
  const parsed = articleSchema.safeParse({ ...(JSON.parse(text) as object), ...(topics ? { topics } : {}) });
  if (!parsed.success) {
    throw new Error(`The article in ${file} is not valid: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'body'} ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

/** `publish <file>`: records an article from JSON or a markdown export and starts its notification. */
export async function runPublish(deps: Deps, file: string, options: PublishOptions): Promise<void> {
  const known = (await new TopicCatalog(deps.pool).list()).map((t) => t.slug);
  const input = await readArticle(file, options.topic, known);
  const { force, ...rest } = input as ArticleInput & { force?: boolean };
  const maxAgeHours = deps.config.MAX_ARTICLE_AGE_HOURS;
  const { article, created, reason, notifiedNow } = await deps.articles.publish(rest, { notify: options.notify, maxAgeHours, force: options.force === true || force === true });
  const knownText = notifiedNow ? 'already known; notification queued now (--force)' : 'already known; nothing new';
  const what = created ? (article.notify ? 'published; notification queued' : 'recorded without notification') : knownText;
  print(`Article ${article.id} ${what}: ${article.title} [${article.topics.join(', ')}]`);
  if (reason === 'too_old') {
    print(`Not notified: it was published ${article.publishedAt.toISOString()}, more than ${maxAgeHours} h ago (MAX_ARTICLE_AGE_HOURS).`);
    print(`To notify the subscribers anyway, run the same command again with --force.`);
  }
}
