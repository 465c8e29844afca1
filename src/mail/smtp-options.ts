import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { isFullyQualifiedHost, type Config } from '../config.ts';

/**
 * How to reach the SMTP server: the one connection configuration both sending paths use (the
 * transactional nodemailer transport and the notification pool), so TLS, AUTH and HELO never disagree.
 */
export interface SmtpOptions {
  host: string;
  port: number;
  /** implicit TLS (smtps://, port 465); otherwise STARTTLS when offered */
  secure: boolean;
  /** refuse to send unless STARTTLS succeeds (SMTP_REQUIRE_TLS) */
  requireTLS: boolean;
  /** the name in EHLO/HELO (SMTP_HELO_NAME) */
  name?: string;
  auth?: { user: string; pass: string };
  tls: ConnectionOptions;
  connectionTimeout: number;
  greetingTimeout: number;
  socketTimeout: number;
}

/** The HELO name: SMTP_HELO_NAME, else in production the host of PUBLIC_URL, else nodemailer's default. */
export function heloName(config: Pick<Config, 'SMTP_HELO_NAME' | 'NODE_ENV' | 'PUBLIC_URL'>): string | undefined {
  if (config.SMTP_HELO_NAME) return config.SMTP_HELO_NAME;
  if (config.NODE_ENV !== 'production') return undefined;
  const host = new URL(config.PUBLIC_URL).hostname;
  return isFullyQualifiedHost(host) ? host : undefined;
}

/** TLS settings of every SMTP connection: a private CA, the name to verify, or (labs only) no verification. */
function tlsOptions(config: Config, host: string): ConnectionOptions {
  const tls: ConnectionOptions = { servername: config.SMTP_TLS_SERVERNAME ?? host, minVersion: 'TLSv1.2' };
  if (config.SMTP_TLS_CA_FILE) tls.ca = readFileSync(config.SMTP_TLS_CA_FILE, 'utf8');
  if (config.SMTP_TLS_INSECURE) tls.rejectUnauthorized = false;
  return tls;
}

/** Builds the shared connection options from SMTP_URL and the SMTP_* variables. */
export function smtpOptions(config: Config & { SMTP_URL: string }): SmtpOptions {
  const url = new URL(config.SMTP_URL);
  const secure = url.protocol === 'smtps:';
  return {
    host: url.hostname,
    port: Number(url.port || (secure ? 465 : 587)),
    secure,
    requireTLS: config.SMTP_REQUIRE_TLS,
    name: heloName(config),
    auth: url.username ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : undefined,
    tls: tlsOptions(config, url.hostname),
    connectionTimeout: Math.min(10_000, config.SMTP_TIMEOUT_MS),
    greetingTimeout: Math.min(10_000, config.SMTP_TIMEOUT_MS),
    socketTimeout: config.SMTP_TIMEOUT_MS,
  };
}
