import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';

/** What a starting process tells its operator: one summary and the configuration warnings. */
export interface StartupReport {
  summary: {
    roles: string[];
    nodeEnv: string;
    publicUrl: string;
    /** `smtp://host:port` without user or password, or `outbox:<folder>` */
    mail: string;
    outbox: boolean;
    admin: string;
    feeds: string[];
  };
  message: string;
  warnings: string[];
}

/** The roles a process kind plays: `all` is the API and the workers in one process. */
export function rolesOf(role: string): string[] {
  return role === 'all' ? ['api', 'worker'] : [role];
}

/** The SMTP server without credentials, path or query: `smtp://smtp.example.pl:587`. */
export function describeSmtpTarget(smtpUrl: string): string {
  const url = new URL(smtpUrl);
  const port = url.port || (url.protocol === 'smtps:' ? '465' : '587');
  return `${url.protocol}//${url.hostname}:${port}`;
}

/** A feed URL as it may be logged: no user info, no query string (either could hold a key). */
function describeFeed(feed: { url: string; topic?: string }): string {
  const url = new URL(feed.url);
  return `${url.protocol}//${url.host}${url.pathname}${feed.topic ? `|${feed.topic}` : ''}`;
}

/** Builds the start-up summary and the warnings for a process playing `role` (api, worker, all). */
export function describeStartup(config: Config, role: string): StartupReport {
  const roles = rolesOf(role);
  const outbox = !config.SMTP_URL;
  const mail = config.SMTP_URL ? describeSmtpTarget(config.SMTP_URL) : `outbox:${config.OUTBOX_DIR}`;
  const admin = config.ADMIN_TOKEN ? 'enabled (admin API, /admin/queues, /metrics)' : 'disabled: ADMIN_TOKEN is not set';
  const feeds = config.FEEDS.map(describeFeed);
  const warnings: string[] = [];
  if (!config.ADMIN_TOKEN && roles.includes('api')) {
    warnings.push('ADMIN_TOKEN is not set: the admin API, the queue dashboard (/admin/queues) and /metrics answer 401 to everyone. Set ADMIN_TOKEN (at least 16 random characters) to use them.');
  }
  if (outbox && config.NODE_ENV === 'production' && roles.includes('worker')) {
    warnings.push(`SMTP_URL is not set in production: no e-mail leaves this machine, every message is written to the folder ${config.OUTBOX_DIR} instead. Set SMTP_URL.`);
  }
  const message = `Powiadom starting: ${roles.join('+')} at ${config.PUBLIC_URL}, mail ${mail}, admin ${config.ADMIN_TOKEN ? 'enabled' : 'disabled'}, ${feeds.length} feed(s) watched`;
  return { summary: { roles, nodeEnv: config.NODE_ENV, publicUrl: config.PUBLIC_URL, mail, outbox, admin, feeds }, message, warnings };
}

/** Logs the one start-up summary line, then each warning at level warn. */
export function logStartup(log: Logger, config: Config, role: string): void {
  const report = describeStartup(config, role);
  log.info({ startup: report.summary }, report.message);
  for (const warning of report.warnings) log.warn(warning);
}
