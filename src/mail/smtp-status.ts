import type { Redis } from 'ioredis';

/** The SMTP server's state as the workers last saw it: fine, down, or refusing our configuration. */
export type SmtpState = 'ok' | 'unavailable' | 'configuration';

/** What the workers last learned about the SMTP server, shared by every process through Redis. */
export interface SmtpStatus {
  state: SmtpState;
  /** what to do about it ("certificate not trusted: set SMTP_TLS_CA_FILE"); absent when ok */
  hint?: string;
  /** the server's reply or the connection error, addresses masked */
  error?: string;
  /** since when (ISO time) */
  since: string;
}

function statusKey(prefix: string): string {
  return `${prefix}:smtp:status`;
}

/** Records the SMTP state when it changed (one GET per call otherwise); true when it changed. */
export async function recordSmtpStatus(redis: Redis, prefix: string, state: SmtpState, details: { hint?: string; error?: string } = {}): Promise<boolean> {
  const current = await readSmtpStatus(redis, prefix);
  if (current?.state === state && current.hint === details.hint) return false;
  if (!current && state === 'ok') {
    await redis.set(statusKey(prefix), JSON.stringify({ state, since: new Date().toISOString() }));
    return false;
  }
  await redis.set(statusKey(prefix), JSON.stringify({ state, ...details, since: new Date().toISOString() }));
  return true;
}

/** The last recorded SMTP state, or null before the first check. */
export async function readSmtpStatus(redis: Redis, prefix: string): Promise<SmtpStatus | null> {
  const value = await redis.get(statusKey(prefix));
  return value ? (JSON.parse(value) as SmtpStatus) : null;
}
