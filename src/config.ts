import { z } from 'zod';
import { loadEnvFileIfPresent } from './process/env-file.ts';

/** Development-only signing secret: used only when PUBLIC_URL is a loopback address (it is public). */
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

const smtpUrl = optionalText
  .refine((v) => v === undefined || /^smtps?:\/\//.test(v), { message: 'must start with smtp:// or smtps://' })
  .refine((v) => v === undefined || !v.includes('?'), {
    message: 'takes no query options: use SMTP_TLS_CA_FILE, SMTP_TLS_SERVERNAME, SMTP_REQUIRE_TLS or SMTP_TLS_INSECURE',
  });

/** A fully qualified host name (at least one dot), never an IP literal: what HELO and a sender's domain must be. */
export function isFullyQualifiedHost(name: string): boolean {
  if (/^[\d.]+$/.test(name) || name.includes(':') || name.startsWith('[')) return false;
  return /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/i.test(name);
}

/** The domain of a From value ("Name <a@b.pl>" or "a@b.pl"), or null when it has none. */
export function mailFromDomain(from: string): string | null {
  return /@([^>\s@]+)>?\s*$/.exec(from)?.[1] ?? null;
}

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

const isoDate = optionalText.refine((v) => v === undefined || (/^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(v))), { message: 'must be a date like 2026-12-01' });
const emailText = optionalText.refine((v) => v === undefined || /^[^\s@<>]+@[^\s@<>]+$/.test(v), { message: 'must be an e-mail address' });
const httpsUrl = optionalText.refine((v) => v === undefined || /^https?:\/\/[^\s"<>]+$/.test(v), { message: 'must be an http(s) URL' });

/**
 * The office's legal pages (docs/visitors.md): the RODO art. 13 notice and the accessibility statement
 * are built from these, or replaced by links to the office's own pages (BRAND_PRIVACY_URL,
 * BRAND_ACCESSIBILITY_URL).
 */
const legalEnv = {
  /** English office name (BRAND_OFFICE_NAME is used for both languages when this is not set) */
  BRAND_OFFICE_NAME_EN: optionalText,
  /** the data controller (administrator danych), default: the office name */
  BRAND_CONTROLLER_NAME: optionalText,
  BRAND_CONTROLLER_NAME_EN: optionalText,
  /** the controller's postal address, one line */
  BRAND_CONTROLLER_ADDRESS: optionalText,
  BRAND_CONTROLLER_EMAIL: emailText,
  /** the data protection officer's (inspektor ochrony danych) address */
  BRAND_DPO_EMAIL: emailText,
  BRAND_PRIVACY_URL: httpsUrl,
  BRAND_ACCESSIBILITY_URL: httpsUrl,
  /** accessibility statement: publication date of the service and of the statement's last update */
  A11Y_PUBLISHED: isoDate,
  A11Y_UPDATED: isoDate,
  /** compliance with the act of 4 April 2019: full, partial or none */
  A11Y_STATUS: z.enum(['full', 'partial', 'none']).default('full'),
  /** date the statement was prepared and how (self-assessment unless told) */
  A11Y_PREPARED: isoDate,
  A11Y_PREPARED_BY: optionalText,
  A11Y_CONTACT_NAME: optionalText,
  A11Y_CONTACT_EMAIL: emailText,
  A11Y_CONTACT_PHONE: optionalText,
  /** optional free text on the architectural accessibility of the office's buildings */
  A11Y_ARCHITECTURE: optionalText,
};

/** Every environment variable Powiadom reads; docs/configuration.md documents each one. */
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
  /** Connections to the SMTP server this worker process may open in all (its sender threads included); docs/smtp.md. */
  SMTP_MAX_CONNECTIONS: z.coerce.number().int().min(2).optional(),
  /** An idle SMTP connection is closed after this long, so it holds none of the relay's connection slots. */
  SMTP_IDLE_TIMEOUT_MS: positiveInt(5000),
  /** The EHLO name; default in production: the host of PUBLIC_URL. */
  SMTP_HELO_NAME: optionalText.refine((v) => v === undefined || isFullyQualifiedHost(v), { message: 'must be a fully qualified host name, not an IP address' }),
  /** PEM file of the CA (or certificate) the SMTP server's certificate is checked against. */
  SMTP_TLS_CA_FILE: optionalText,
  /** The name the SMTP server's certificate must carry, when SMTP_URL names it otherwise (e.g. an IP). */
  SMTP_TLS_SERVERNAME: optionalText,
  /** Refuse to send unless the connection is encrypted (STARTTLS must succeed). */
  SMTP_REQUIRE_TLS: boolFlag.default(false),
  /** Labs only: accept any certificate. Never in production. */
  SMTP_TLS_INSECURE: boolFlag.default(false),
  OUTBOX_DIR: z.string().default('outbox'),
  /** default: Powiadom <powiadom@HOST> with HOST the host of PUBLIC_URL */
  MAIL_FROM: optionalText,
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
  // Mail that comes back (docs/inbound-mail.md): VERP envelope senders, the bounce mailbox, providers' webhooks.
  BOUNCE_ADDRESS: optionalText.refine((v) => v === undefined || /^[^\s@<>+]+@[^\s@<>]+$/.test(v), { message: 'must be an e-mail address without "+"' }),
  INBOUND_IMAP_URL: optionalText.refine((v) => v === undefined || (/^imaps?:\/\/[^\s]+$/.test(v) && URL.canParse(v)), { message: 'must be an imap:// or imaps:// URL' }),
  INBOUND_POLL_INTERVAL_MS: positiveInt(60000),
  INBOUND_DONE_FOLDER: z.string().min(1).default('Powiadom/Przetworzone'),
  INBOUND_UNKNOWN_FOLDER: z.string().min(1).default('Powiadom/Nierozpoznane'),
  SOFT_BOUNCE_LIMIT: positiveInt(5),
  SOFT_BOUNCE_WINDOW_DAYS: positiveInt(30),
  SES_TOPIC_ARNS: commaList,
  MAILGUN_WEBHOOK_SIGNING_KEY: optionalText,
  POSTMARK_WEBHOOK_SECRET: optionalText.refine((v) => v === undefined || v.length >= 16, { message: 'must be at least 16 characters' }),
  DKIM_DOMAIN: optionalText,
  DKIM_SELECTOR: optionalText,
  DKIM_PRIVATE_KEY: optionalText,
  /** optional second signature, ed25519-sha256 (RFC 8463): PKCS#8 PEM of an Ed25519 key; needs the three DKIM_* above */
  DKIM_ED25519_PRIVATE_KEY: optionalText,
  /** selector of the Ed25519 key's TXT record; default `${DKIM_SELECTOR}-ed25519` */
  DKIM_ED25519_SELECTOR: optionalText,
  LIST_ID: optionalText,
  METRICS_TOKEN: optionalText.refine((v) => v === undefined || v.length >= 16, { message: 'must be at least 16 characters' }),
  METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  CANARY_EMAIL: optionalText,
  CANARY_INTERVAL_MS: positiveInt(3_600_000),
  // Operators' console (docs/console.md): session idle and absolute timeouts, optional Grafana link.
  CONSOLE_IDLE_MINUTES: positiveInt(30),
  CONSOLE_SESSION_HOURS: positiveInt(12),
  GRAFANA_URL: optionalText.refine((v) => v === undefined || /^https?:\/\/[^\s"<>]+$/.test(v), { message: 'must be an http(s) URL' }),
  // Daily and weekly digests (docs/digests.md): daily at DIGEST_TIME, weekly on DIGEST_WEEKDAY at DIGEST_TIME, in DIGEST_TIMEZONE.
  DIGEST_TIME: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24-hour clock)').default('08:00'),
  DIGEST_WEEKDAY: z.enum(['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'], { error: 'must be a weekday in English, e.g. monday' }).default('monday'),
  DIGEST_TIMEZONE: z.string().refine(isTimeZone, { message: 'must be an IANA time zone, e.g. Europe/Warsaw' }).default('Europe/Warsaw'),
  BRAND_OFFICE_NAME: optionalText,
  /** short name of the office in digest subjects ("Powiadomienia DUW: …"); default DUW for the default office, else BRAND_OFFICE_NAME */
  BRAND_SHORT_NAME: optionalText,
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
  ...legalEnv,
});

/** Names of every variable of the schema above: the deployment files and docs are checked against it. */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

type Env = z.infer<typeof envSchema>;

/** Validated runtime configuration derived from the environment. */
export type Config = Omit<Env, 'PUBLIC_URL' | 'SECRET' | 'TRUST_PROXY' | 'MAIL_FROM'> & {
  PUBLIC_URL: string;
  MAIL_FROM: string;
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

/** True for a URL whose host is this machine only: localhost, *.localhost, 127.0.0.0/8 or [::1]. */
export function isLoopbackUrl(url: string): boolean {
  if (!URL.canParse(url)) return false;
  const host = new URL(url).hostname.toLowerCase();
  return host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}

/**
 * The rules that keep a careless start from failing open, whatever NODE_ENV says: the development
 * SECRET is public, so it signs links only for a service nobody else can reach (PUBLIC_URL on loopback,
 * the zero-config `npm start`); production needs https (mailbox providers ignore one-click unsubscribe over http).
 */
function safetyProblems(data: Env): string[] {
  const problems: string[] = [];
  const publicUrl = data.PUBLIC_URL ?? `http://localhost:${data.PORT}`;
  if (!data.SECRET && !isLoopbackUrl(publicUrl)) {
    problems.push(`  SECRET: required unless PUBLIC_URL is a loopback address (PUBLIC_URL is ${publicUrl}); set at least 32 random characters`);
  } else if (!data.SECRET && data.NODE_ENV === 'production') problems.push('  SECRET: required when NODE_ENV=production');
  if (data.NODE_ENV === 'production') {
    if (!data.PUBLIC_URL) problems.push('  PUBLIC_URL: required when NODE_ENV=production');
    else if (!data.PUBLIC_URL.startsWith('https://')) problems.push('  PUBLIC_URL: must be an https:// URL when NODE_ENV=production');
  }
  if (data.NODE_ENV === 'production') problems.push(...productionMailProblems(data, publicUrl));
  return problems;
}

/**
 * The effective MAIL_FROM (set, or derived from PUBLIC_URL's host) must carry a real domain in production:
 * relays refuse powiadom@localhost (Postfix reject_non_fqdn_sender).
 */
function productionMailProblems(data: Env, publicUrl: string): string[] {
  const problems: string[] = [];
  const from = data.MAIL_FROM ?? (URL.canParse(publicUrl) ? `Powiadom <powiadom@${new URL(publicUrl).hostname}>` : '');
  const domain = mailFromDomain(from);
  if (!domain || !isFullyQualifiedHost(domain) || /(^|\.)(localhost|local|localdomain)$/i.test(domain)) {
    problems.push('  MAIL_FROM: must be an address in a real domain when NODE_ENV=production (e.g. Powiadom <powiadomienia@urzad.gov.pl>)');
  }
  if (data.SMTP_TLS_INSECURE) problems.push('  SMTP_TLS_INSECURE: not allowed when NODE_ENV=production (set SMTP_TLS_CA_FILE)');
  return problems;
}

/** Validates an environment object; throws ConfigError naming every bad variable. */
export function parseConfig(env: NodeJS.ProcessEnv): Config {
  const parsed = envSchema.safeParse(env);
  const problems = parsed.success
    ? safetyProblems(parsed.data)
    : parsed.error.issues.map((i) => `  ${String(i.path[0])}: ${i.message}`);
  if (!parsed.success || problems.length > 0) {
    throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
  }
  const data = parsed.data;
  const publicUrl = (data.PUBLIC_URL ?? `http://localhost:${data.PORT}`).replace(/\/+$/, '');
  return {
    ...data,
    PUBLIC_URL: publicUrl,
    MAIL_FROM: data.MAIL_FROM ?? `Powiadom <powiadom@${new URL(publicUrl).hostname}>`,
    SECRET: data.SECRET ?? DEVELOPMENT_SECRET,
    TRUST_PROXY: parseTrustProxy(data.TRUST_PROXY),
    usingDevelopmentSecret: data.SECRET === undefined,
  };
}

/** Reads process.env once (after `.env` when present); on bad input prints every problem and exits with status 1. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  if (env === process.env) loadEnvFileIfPresent();
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
