import { z } from 'zod';

/** Development-only signing secret: refused when NODE_ENV=production. */
const DEVELOPMENT_SECRET = 'powiadom-development-secret-do-not-use-in-production';

const boolFlag = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off', ''])
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v));

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const commaList = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

/** One entry of FEEDS: a feed URL and, after `|`, the topic its items go to. */
export interface FeedSource {
  url: string;
  topic?: string;
}

const topicSlug = /^[a-z0-9][a-z0-9-]{0,62}$/;

// FEEDS="https://a/rss.xml|komunikaty,https://b/atom.xml": a URL must not contain a comma (write %2C).
const feedList = commaList.transform((entries, ctx): FeedSource[] =>
  entries.map((entry) => {
    const [url = '', topic, ...rest] = entry.split('|').map((s) => s.trim());
    if (!/^https?:\/\/\S+$/.test(url) || !URL.canParse(url)) ctx.addIssue({ code: 'custom', message: `"${url}" is not an http(s) URL` });
    if ((topic !== undefined && !topicSlug.test(topic)) || rest.length > 0) {
      ctx.addIssue({ code: 'custom', message: `"${entry}": write url|topic with a topic slug` });
    }
    return topic ? { url, topic } : { url };
  }),
);

const smtpUrl = optionalText.refine((v) => v === undefined || /^smtps?:\/\//.test(v), {
  message: 'must start with smtp:// or smtps://',
});

/** True for a time zone name the runtime knows (IANA, e.g. Europe/Warsaw). */
function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** WCAG contrast ratio of a #rrggbb colour against white. */
export function contrastWithWhite(hex: string): number {
  const channel = (i: number) => {
    const c = parseInt(hex.slice(1 + 2 * i, 3 + 2 * i), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * channel(0) + 0.7152 * channel(1) + 0.0722 * channel(2);
  return 1.05 / (luminance + 0.05);
}

/** Every environment variable Powiadom reads; README's Configuration table mirrors this. */
const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  PUBLIC_URL: optionalText.refine((v) => v === undefined || /^https?:\/\/[^\s]+$/.test(v), {
    message: 'must be an http(s) URL',
  }),
  DATABASE_URL: z.string().default('postgres://postgres@127.0.0.1:5432/powiadom'),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL').default('redis://127.0.0.1:6379'),
  QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]+$/).default('powiadom'),
  SMTP_URL: smtpUrl,
  SMTP_POOL_SIZE: positiveInt(8),
  SMTP_TIMEOUT_MS: positiveInt(30000),
  OUTBOX_DIR: z.string().default('outbox'),
  MAIL_FROM: z.string().default('Powiadom <powiadom@localhost>'),
  MAIL_REPLY_TO: optionalText,
  SECRET: optionalText.refine((v) => v === undefined || v.length >= 32, { message: 'must be at least 32 characters' }),
  ADMIN_TOKEN: optionalText.refine((v) => v === undefined || v.length >= 16, { message: 'must be at least 16 characters' }),
  SUBSCRIBE_LIMIT_PER_IP: positiveInt(20),
  CONFIRMATIONS_PER_DAY: positiveInt(3),
  TRUST_PROXY: optionalText,
  WELCOME_EMAIL: boolFlag.default(true),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SHUTDOWN_GRACE_MS: positiveInt(10000),
  API_PROCESSES: z.coerce.number().int().min(1).max(64).default(1),
  PENDING_TTL_DAYS: positiveInt(7),
  CONFIRM_TOKEN_TTL_DAYS: positiveInt(7),
  ALLOWED_ORIGINS: commaList,
  ALTCHA_HMAC_KEY: optionalText.refine((v) => v === undefined || v.length >= 32, { message: 'must be at least 32 characters' }),
  DEMO: boolFlag.default(false),
  WORKER_CONCURRENCY: positiveInt(4),
  FEEDS: feedList,
  FEED_DEFAULT_TOPIC: z.string().regex(topicSlug, 'must be a topic slug').default('aktualnosci'),
  FEED_POLL_INTERVAL_MS: positiveInt(300000),
  MAX_ARTICLE_AGE_HOURS: positiveInt(72),
  RECONCILE_INTERVAL_MS: positiveInt(60000),
  SEND_ATTEMPTS: positiveInt(8),
  SEND_BACKOFF_MS: positiveInt(30000),
  SEND_RATE: z.coerce.number().int().min(0).default(0),
  SEND_BATCH_SIZE: positiveInt(200),
  SENDER_THREADS: z.coerce.number().int().min(0).optional(),
  JOB_LOCK_MS: positiveInt(30000),
  UNSUBSCRIBE_MAILTO: optionalText.refine((v) => v === undefined || /^[^\s@<>]+@[^\s@<>]+$/.test(v), { message: 'must be an e-mail address' }),
  DKIM_DOMAIN: optionalText,
  DKIM_SELECTOR: optionalText,
  DKIM_PRIVATE_KEY: optionalText,
  LIST_ID: optionalText,
  METRICS_TOKEN: optionalText.refine((v) => v === undefined || v.length >= 16, { message: 'must be at least 16 characters' }),
  METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  CANARY_EMAIL: optionalText,
  CANARY_INTERVAL_MS: positiveInt(3_600_000),
  // Daily and weekly digests (docs/digests.md): daily at DIGEST_TIME, weekly on DIGEST_WEEKDAY at DIGEST_TIME, in DIGEST_TIMEZONE.
  DIGEST_TIME: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24-hour clock)').default('08:00'),
  DIGEST_WEEKDAY: z.enum(['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'], { error: 'must be a weekday in English, e.g. monday' }).default('monday'),
  DIGEST_TIMEZONE: z.string().refine(isTimeZone, { message: 'must be an IANA time zone, e.g. Europe/Warsaw' }).default('Europe/Warsaw'),
  BRAND_OFFICE_NAME: optionalText,
  BRAND_LOGO_URL: optionalText.refine((v) => v === undefined || /^(https:\/\/|\/)[^\s"<>]*$/.test(v), {
    message: 'must be an https:// URL or a path starting with /',
  }),
  BRAND_HOME_URL: optionalText.refine((v) => v === undefined || /^https?:\/\/[^\s"<>]+$/.test(v), {
    message: 'must be an http(s) URL',
  }),
  BRAND_PRIMARY_COLOR: optionalText
    .refine((v) => v === undefined || /^#[0-9a-fA-F]{6}$/.test(v), { message: 'must be a colour like #0b4f8a' })
    .refine((v) => v === undefined || !/^#[0-9a-fA-F]{6}$/.test(v) || contrastWithWhite(v) >= 4.5, {
      message: 'must have a contrast of at least 4.5:1 with white text (WCAG AA)',
    }),
});

type Env = z.infer<typeof envSchema>;

/** Validated runtime configuration derived from the environment. */
export type Config = Omit<Env, 'PUBLIC_URL' | 'SECRET' | 'TRUST_PROXY'> & {
  PUBLIC_URL: string;
  SECRET: string;
  /** Value handed to Express's `trust proxy` setting; false = ignore X-Forwarded-For. */
  TRUST_PROXY: boolean | number | string;
  /** True when SECRET was not given and the development default is in use. */
  usingDevelopmentSecret: boolean;
};

/** Thrown by parseConfig with one line per bad variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

function parseTrustProxy(value: string | undefined): boolean | number | string {
  if (value === undefined || ['0', 'false', 'no', 'off'].includes(value)) return false;
  // A number is a hop count: "1" trusts only the nearest proxy, the safe usual case.
  if (/^\d+$/.test(value)) return Number(value);
  if (['true', 'yes', 'on'].includes(value)) return true;
  return value;
}

/** Validates an environment object; throws ConfigError naming every bad variable. */
export function parseConfig(env: NodeJS.ProcessEnv): Config {
  const parsed = envSchema.safeParse(env);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((i) => `  ${String(i.path[0])}: ${i.message}`);
  if (parsed.success && parsed.data.NODE_ENV === 'production') {
    if (!parsed.data.SECRET) problems.push('  SECRET: required when NODE_ENV=production');
    if (!parsed.data.PUBLIC_URL) problems.push('  PUBLIC_URL: required when NODE_ENV=production');
  }
  if (!parsed.success || problems.length > 0) {
    throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
  }
  const data = parsed.data;
  return {
    ...data,
    PUBLIC_URL: (data.PUBLIC_URL ?? `http://localhost:${data.PORT}`).replace(/\/+$/, ''),
    SECRET: data.SECRET ?? DEVELOPMENT_SECRET,
    TRUST_PROXY: parseTrustProxy(data.TRUST_PROXY),
    usingDevelopmentSecret: data.SECRET === undefined,
  };
}

/** Reads process.env once; on bad input prints every problem and exits with status 1. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return parseConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
}
