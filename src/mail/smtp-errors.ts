import { maskEmail } from '../log.ts';

/**
 * How a failed SMTP send should be handled:
 * - `server-unavailable`: the server is down or throttling (connection errors, 421, 454) — back off the whole queue;
 * - `configuration`: the server refuses *us* — authentication, relaying, our sender address or domain, TLS
 *   trust — so every message would fail alike: pause the queue, alert, keep the deliveries pending;
 * - `transient`: a 4xx for this message — retry it later with backoff;
 * - `unknown-user`: the mailbox does not exist (5.1.x, 5.2.1) — fail and suppress the address;
 * - `permanent`: any other 5xx about this recipient (including 5.7.x policy blocks) — fail, do not suppress.
 */
export type SmtpFailure = 'server-unavailable' | 'configuration' | 'transient' | 'unknown-user' | 'permanent';

const CONNECTION_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'ECONNREFUSED', 'ECONNRESET', 'EDNS', 'EPIPE', 'EPROTOCOL']);

/** TLS failures that only our settings can fix: an untrusted, expired or misnamed certificate, no STARTTLS. */
const TLS_PROBLEM = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME|ERR_SSL|ERR_TLS|certificate/i;

/** 4xx replies that throttle the client as a whole (Postfix anvil, Microsoft 365, providers): back off the queue, not the message. */
const THROTTLING = /too much mail|too many (connections|messages|recipients)|rate limit|throttl|\b4\.3\.[12]\b|\b4\.7\.(0|28)\b.*(limit|exceeded)/i;

/**
 * Replies about our side, whatever the recipient: relaying refused (Postfix, Exchange 5.7.54/5.7.64),
 * sender refused (Postfix reject_non_fqdn_sender and friends, Microsoft 365 5.7.57/5.7.60), our host refused.
 */
const OUR_CONFIGURATION = /relay access denied|relaying denied|unable to relay|not permitted to relay|sender address rejected|client host rejected|authentication required|must issue a starttls|\b5\.7\.(54|57|60|64)\b|\b5\.1\.[78]\b|\b5\.7\.30\b/i;

interface NodemailerError {
  responseCode?: number;
  response?: string;
  code?: string;
  originalCode?: string;
  command?: string;
  message?: string;
}

/** Classifies a nodemailer error by stage (command), reply code, enhanced status code and error code. */
export function classifySmtpError(err: unknown): SmtpFailure {
  const e = (err ?? {}) as NodemailerError;
  const code = e.responseCode;
  if (isConfigurationError(e)) return 'configuration';
  if (code === 421 || code === 454) return 'server-unavailable';
  if (code !== undefined && code >= 400 && code < 500 && THROTTLING.test(e.response ?? '')) return 'server-unavailable';
  if (code === undefined) return CONNECTION_CODES.has(e.code ?? '') || e.code === undefined ? 'server-unavailable' : 'transient';
  if (code >= 400 && code < 500) return 'transient';
  const enhanced = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/.exec(e.response ?? '');
  if (enhanced && enhanced[1] === '5' && (enhanced[2] === '1' || (enhanced[2] === '2' && enhanced[3] === '1'))) return 'unknown-user';
  return 'permanent';
}

function isConfigurationError(e: NodemailerError): boolean {
  const command = (e.command ?? '').toUpperCase();
  if (e.code === 'EAUTH' || command.startsWith('AUTH')) return true;
  if (e.code === 'ETLS' || command === 'STARTTLS' || TLS_PROBLEM.test(`${e.code ?? ''} ${e.originalCode ?? ''}`)) return true;
  if (e.responseCode === 530) return true;
  if (e.responseCode !== undefined && e.responseCode >= 500 && command === 'MAIL FROM') return true;
  return e.responseCode !== undefined && e.responseCode >= 400 && OUR_CONFIGURATION.test(e.response ?? '');
}

/**
 * One readable line for an SMTP error: the stage and the server's reply once ("RCPT TO: 554 5.7.1 …"),
 * not nodemailer's message, which repeats the reply ("Invalid greeting. response=421 …: 421 …").
 */
export function describeSmtpError(err: unknown): string {
  const e = (err ?? {}) as NodemailerError;
  const text = e.response ? `${e.command ? `${e.command}: ` : ''}${e.response}` : (e.message ?? String(err));
  return text.replace(/\s+/g, ' ').trim().replace(ADDRESS, (address) => maskEmail(address));
}

/** An e-mail address inside a server's reply ("<jan@example.pl>: Relay access denied"). */
const ADDRESS = /[^\s<>@:;,"'()[\]]+@[^\s<>@:;,"'()[\]]+/g;

/** What an operator is to do about a configuration error, for the start-up log, /api/stats and alerts. */
export function configurationHint(err: unknown): string {
  const e = (err ?? {}) as NodemailerError;
  const text = `${e.code ?? ''} ${e.originalCode ?? ''} ${e.message ?? ''} ${e.response ?? ''}`;
  if (/SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|unable to (get|verify)|self[- ]signed|not trusted/i.test(text)) return 'certificate not trusted: set SMTP_TLS_CA_FILE';
  if (/ALTNAME|does not match|Hostname\/IP/i.test(text)) return 'certificate names another host: set SMTP_TLS_SERVERNAME';
  if (/CERT_HAS_EXPIRED/i.test(text)) return 'the server certificate has expired: renew it on the SMTP server';
  if (e.code === 'ETLS' || /STARTTLS/i.test(text)) return 'TLS could not be negotiated: check SMTP_URL, SMTP_REQUIRE_TLS and the server';
  if (e.code === 'EAUTH' || /^AUTH/i.test(e.command ?? '')) return 'authentication refused: check the user and password in SMTP_URL';
  if (/authentication required|5\.7\.57|5\.7\.0/i.test(text)) return 'the server wants authentication: put a user and password in SMTP_URL';
  if (/relay/i.test(text) || /5\.7\.(54|64)/.test(text)) return 'the server does not relay for us: authenticate, or allow our address on the relay';
  if (/sender|5\.1\.[78]|5\.7\.60/i.test(text) || /MAIL FROM/i.test(e.command ?? '')) return 'the sender address is refused: set MAIL_FROM (or the envelope sender) to an address the relay accepts';
  return 'the SMTP server refuses our configuration';
}
