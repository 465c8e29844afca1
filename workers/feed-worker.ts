import { Worker, type Job } from 'bullmq';
import { HttpFeedFetcher } from '../src/adapters/feed-fetcher.ts';
import { FeedWatcher, type FeedFetcher, type FeedPollResult } from '../src/core/feeds.ts';
import { QUEUE_NAMES, type FeedJob } from '../src/jobs/jobs.ts';
import { FEED_SCHEDULER_ID, feedSchedule, upsertSchedule } from '../src/jobs/schedules.ts';
import type { WorkerContext } from './context.ts';

/** The watcher of this process's FEEDS; `fetcher` may be replaced (tests use the real one on a local server). */
export function createFeedWatcher(ctx: WorkerContext, fetcher: FeedFetcher = new HttpFeedFetcher()): FeedWatcher {
  return new FeedWatcher(
    ctx.pool,
    fetcher,
    ctx.articles,
    { maxArticleAgeHours: ctx.config.MAX_ARTICLE_AGE_HOURS, defaultTopic: ctx.config.FEED_DEFAULT_TOPIC },
    ctx.log.child({ queue: QUEUE_NAMES.feeds }),
  );
}

/** Polls every FEEDS entry every FEED_POLL_INTERVAL_MS (the first poll runs at once); no FEEDS, no schedule. */
export async function scheduleFeeds(ctx: WorkerContext): Promise<void> {
  if (ctx.config.FEEDS.length === 0) {
    await ctx.queues.feeds.removeJobScheduler(FEED_SCHEDULER_ID);
    return;
  }
  await upsertSchedule(ctx.queues.feeds, feedSchedule(ctx.config.FEED_POLL_INTERVAL_MS));
}

/** Registers the feed schedule again when Redis lost it (data loss, flush); true when it did. */
export async function restoreFeedSchedule(ctx: WorkerContext): Promise<boolean> {
  if (ctx.config.FEEDS.length === 0 || (await ctx.queues.feeds.getJobScheduler(FEED_SCHEDULER_ID))) return false;
  await scheduleFeeds(ctx);
  ctx.log.warn('feed schedule was missing in Redis: registered again');
  return true;
}

/** Checks the feed schedule every RECONCILE_INTERVAL_MS; returns the function that stops checking. */
export function keepFeedSchedule(ctx: WorkerContext): () => void {
  const timer = setInterval(() => {
    restoreFeedSchedule(ctx).catch((err: Error) => ctx.log.warn({ err: err.message }, 'could not check the feed schedule'));
  }, ctx.config.RECONCILE_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** Polls all feeds, or the one a job names. */
export function feedProcessor(ctx: WorkerContext, watcher = createFeedWatcher(ctx)) {
  return async (job: Job<FeedJob>): Promise<FeedPollResult[]> => {
    const sources = job.data.feedUrl ? ctx.config.FEEDS.filter((f) => f.url === job.data.feedUrl) : ctx.config.FEEDS;
    return watcher.pollAll(sources);
  };
}

/** The worker of the feeds queue: one poll at a time per process. */
export function createFeedWorker(ctx: WorkerContext): Worker<FeedJob> {
  return new Worker<FeedJob>(QUEUE_NAMES.feeds, feedProcessor(ctx), {
    connection: ctx.workerRedis,
    prefix: ctx.config.QUEUE_PREFIX,
    concurrency: 1,
  });
}
