import type pg from 'pg';
import type { Redis } from 'ioredis';
import { controllerNames, legalLinks, officeNames } from './brand/brand.ts';
import type { Config } from './config.ts';
import { ArticleService } from './core/articles.ts';
import type { Links } from './core/links.ts';
import { ManageLinkService } from './core/manage-link.ts';
import { SubscriptionService } from './core/subscriptions.ts';
import type { TokenSigner } from './core/tokens.ts';
import { createPool } from './db/pool.ts';
import type { InboundService } from './core/inbound.ts';
import type { VerpAddresses } from './core/verp.ts';
import { createVerp } from './inbound/inbound-config.ts';
import { createInboundService } from './inbound/inbound-setup.ts';
import { SnsVerifier } from './inbound/providers/sns.ts';
import { createLimiters, type Limiters } from './http/rate-limits.ts';
import { createSigning } from './mail/send-path.ts';
import { PageRenderer, type Brand } from './http/pages.ts';
import { JobQueues, QueueDigestJobs, QueueFanoutJobs, QueueManageLinkJobs, QueueSubscriptionMailJobs } from './jobs/jobs.ts';
import { DigestService } from './core/digests.ts';
import type { DigestSchedule } from './core/digest-schedule.ts';
import type { Logger } from './log.ts';
import { createRedis } from './infra/redis.ts';

/** Everything the API and the workers share, created once per process. */
export interface Deps {
  config: Config;
  log: Logger;
  pool: pg.Pool;
  /** producer connection: fails fast while Redis is away */
  redis: Redis;
  /** the rate limiters' own producer connection, auto-pipelined (kept apart from BullMQ's) */
  limiterRedis: Redis;
  queues: JobQueues;
  signer: TokenSigner;
  links: Links;
  subscriptions: SubscriptionService;
  /** "send me my management link" requests */
  manageLinks: ManageLinkService;
  articles: ArticleService;
  /** daily and weekly digest runs */
  digests: DigestService;
  pages: PageRenderer;
  limiters: Limiters;
  /** bounces, complaints and mailto unsubscribes (docs/inbound-mail.md) */
  inbound: InboundService;
  /** VERP envelope senders; null without BOUNCE_ADDRESS */
  verp: VerpAddresses | null;
  /** checks SNS signatures (SES webhook); tests inject one that trusts a local certificate host */
  sns: SnsVerifier;
}

/** Branding of pages and previews: BRAND_* variables, else the office (DUW Wrocław) as the default. */
export function defaultBrand(config: Config): Brand {
  return {
    officeName: officeNames(config),
    controllerName: controllerNames(config),
    serviceName: 'Powiadom',
    homeUrl: config.BRAND_HOME_URL ?? '/subscribe',
    logoUrl: config.BRAND_LOGO_URL ?? '/static/logo.svg',
    primaryColor: config.BRAND_PRIMARY_COLOR,
    links: { pl: legalLinks(config, 'pl'), en: legalLinks(config, 'en') },
  };
}

/** The digest schedule of this configuration (DIGEST_TIME, DIGEST_WEEKDAY, DIGEST_TIMEZONE). */
export function digestSchedule(config: Config): DigestSchedule {
  return { time: config.DIGEST_TIME, weekday: config.DIGEST_WEEKDAY, timeZone: config.DIGEST_TIMEZONE };
}

/** Creates the shared dependencies; nothing listens or consumes jobs yet (`dbConnectTimeoutMs`: see createPool). */
export async function createDeps(config: Config, log: Logger, dbConnectTimeoutMs?: number): Promise<Deps> {
  const pool = createPool(config.DATABASE_URL, 10, dbConnectTimeoutMs);
  pool.on('error', (err) => log.warn({ err }, 'idle PostgreSQL client failed'));
  const redis = createRedis(config.REDIS_URL, 'producer');
  redis.on('error', (err) => log.warn({ err: err.message }, 'Redis connection error'));
  const queues = new JobQueues(redis, config.QUEUE_PREFIX, { attempts: config.SEND_ATTEMPTS, backoffMs: config.SEND_BACKOFF_MS });
  for (const queue of queues.all()) queue.on('error', (err) => log.warn({ err: err.message, queue: queue.name }, 'queue error'));
  const { signer, links } = createSigning(config);
  const subscriptions = new SubscriptionService(pool, signer, new QueueSubscriptionMailJobs(queues), {
    confirmationsPerDay: config.CONFIRMATIONS_PER_DAY,
    pendingTtlDays: config.PENDING_TTL_DAYS,
    welcomeEmail: config.WELCOME_EMAIL,
  });
  const manageLinks = new ManageLinkService(pool, new QueueManageLinkJobs(queues), config.CONFIRMATIONS_PER_DAY);
  const articles = new ArticleService(pool, new QueueFanoutJobs(queues));
  const digests = new DigestService(pool, new QueueDigestJobs(queues), digestSchedule(config));
  const pages = await PageRenderer.create(defaultBrand(config));
  // Every request costs one limiter call; auto-pipelining sends the calls of one event-loop turn in one
  // write. It has its own connection: BullMQ's connections are not tested with auto-pipelining.
  const limiterRedis = createRedis(config.REDIS_URL, 'producer', { enableAutoPipelining: true });
  limiterRedis.on('error', (err) => log.warn({ err: err.message }, 'rate limiter Redis connection error'));
  const limiters = createLimiters(limiterRedis, config.QUEUE_PREFIX, config.SUBSCRIBE_LIMIT_PER_IP);
  const inbound = createInboundService(config, pool, signer, log);
  return { config, log, pool, redis, limiterRedis, queues, signer, links, subscriptions, manageLinks, articles, digests, pages, limiters, inbound, verp: createVerp(config), sns: new SnsVerifier() };
}

/** Closes queues, Redis and PostgreSQL, in that order. */
export async function closeDeps(deps: Deps): Promise<void> {
  // A queue still connecting (BullMQ asks Redis for its version) when the shared connection quits emits an
  // unhandled 'error' and kills the process: a short CLI command can finish first. Let them connect.
  // Bounded: with Redis unreachable they never connect, and closing must not wait for ever.
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, 5_000)));
  await Promise.race([Promise.all(deps.queues.all().map((q) => q.waitUntilReady().catch(() => undefined))), bound]);
  clearTimeout(timer);
  await deps.queues.close().catch(() => undefined);
  await deps.redis.quit().catch(() => deps.redis.disconnect());
  await deps.limiterRedis.quit().catch(() => deps.limiterRedis.disconnect());
  await deps.pool.end().catch(() => undefined);
}
