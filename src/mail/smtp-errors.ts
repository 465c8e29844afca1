/**
 * How a failed SMTP send should be handled:
 * - `server-unavailable`: the server is down or throttling (connection errors, 421, 454) — back off the whole queue;
 * - `transient`: a 4xx for this message — retry it later with backoff;
 * - `unknown-user`: the mailbox does not exist (5.1.x, 5.2.1) — fail and suppress the address;
 * - `permanent`: any other 5xx (including 5.7.x policy blocks) — fail, do not suppress.
 */
export type SmtpFailure = 'server-unavailable' | 'transient' | 'unknown-user' | 'permanent';

const CONNECTION_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'ECONNREFUSED', 'ECONNRESET', 'EDNS', 'ETLS', 'EPIPE', 'EAUTH']);

/** Classifies a nodemailer error by reply code, enhanced status code and error code. */
export function classifySmtpError(err: unknown): SmtpFailure {
  const e = (err ?? {}) as { responseCode?: number; response?: string; code?: string };
  const code = e.responseCode;
  if (code === 421 || code === 454) return 'server-unavailable';
  if (code === undefined) return CONNECTION_CODES.has(e.code ?? '') || e.code === undefined ? 'server-unavailable' : 'transient';
  if (code >= 400 && code < 500) return 'transient';
  const enhanced = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/.exec(e.response ?? '');
  if (enhanced && enhanced[1] === '5' && (enhanced[2] === '1' || (enhanced[2] === '2' && enhanced[3] === '1'))) return 'unknown-user';
  return 'permanent';
}
