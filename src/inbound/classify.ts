import { simpleParser, type ParsedMail } from 'mailparser';
import type { BounceEvent, ComplaintEvent, InboundEvent } from '../core/inbound-events.ts';
import { TOKEN_LENGTH } from '../core/tokens.ts';
import type { VerpAddresses } from '../core/verp.ts';

/** A parsed inbound message and what it means. */
export interface ClassifiedMessage {
  /** Message-ID with angle brackets, or null */
  messageId: string | null;
  event: InboundEvent;
}

const STATUS = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/;
const ADDRESS = /[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,63}/g;
const BOUNCE_SENDER = /^(mailer-daemon|postmaster|microsoftexchange[0-9a-f]*|mail-daemon)@/i;
const BOUNCE_SUBJECT = /undeliver|delivery status notification|delivery failure|mail delivery (failed|subsystem)|returned mail|failure notice|niedostarcz|nie można dostarczyć|nie dostarczono/i;
const AUTO_REPLY_SUBJECT = /^(automatic reply|auto(matic)?[ -]?reply|autoreply|out of (the )?office|autoodpowied|odpowiedź automatyczna|nieobecno)/i;
const UNSUBSCRIBE_SUBJECT = new RegExp(`unsubscribe\\s+([A-Za-z0-9_-]{${TOKEN_LENGTH}})(?![A-Za-z0-9_-])`, 'i');

/** Parses a raw message and classifies it: DSN, ARF, mailto unsubscribe, auto-reply or unknown. */
export async function classifyMessage(raw: Buffer, verp: VerpAddresses | null): Promise<ClassifiedMessage> {
  const mail = await simpleParser(raw, { keepDeliveryStatus: true, skipImageLinks: true, skipTextToHtml: true });
  return { messageId: mail.messageId ?? null, event: classifyParsed(mail, raw.toString('latin1'), verp) };
}

/** Classifies a parsed message; `raw` is searched for references a malformed report still carries. */
export function classifyParsed(mail: ParsedMail, raw: string, verp: VerpAddresses | null): InboundEvent {
  const contentType = mail.headers.get('content-type') as { value?: string; params?: Record<string, string> } | undefined;
  const reportType = contentType?.value === 'multipart/report' ? contentType.params?.['report-type']?.toLowerCase() : undefined;
  const ref = verp?.find(raw) ?? null;
  const originalMessageId = findOriginalMessageId(mail, raw);
  if (reportType === 'feedback-report' || partText(mail, 'message/feedback-report')) return complaintFrom(mail, raw, ref, originalMessageId);
  const statusPart = partText(mail, 'message/delivery-status') ?? partText(mail, 'message/global-delivery-status');
  if (reportType === 'delivery-status' || statusPart) {
    const dsn = bounceFromDsn(statusPart ?? raw, ref, originalMessageId);
    if (dsn) return dsn;
  }
  if (looksLikeBounce(mail)) {
    const text = bounceFromText(mail, ref, originalMessageId);
    if (text) return text;
  }
  const token = UNSUBSCRIBE_SUBJECT.exec(mail.subject ?? '')?.[1];
  if (token) return { kind: 'unsubscribe', token };
  if (isAutoReply(mail)) return { kind: 'auto_reply' };
  return { kind: 'unknown', reason: reportType ? `unrecognised ${reportType} report` : 'not a bounce, complaint or unsubscribe' };
}

function partText(mail: ParsedMail, type: string): string | null {
  const part = mail.attachments.find((a) => a.contentType.toLowerCase() === type);
  return part ? part.content.toString('utf8') : null;
}

/** A field of a report part (RFC 822 style, continuation lines joined). */
function field(text: string, name: string): string | null {
  const match = new RegExp(`^${name}:[ \\t]*(.*(?:\\r?\\n[ \\t]+.*)*)`, 'im').exec(text);
  return match ? match[1]!.replace(/\r?\n[ \t]+/g, ' ').trim() : null;
}

function addressOf(value: string | null): string | null {
  if (!value) return null;
  return value.replace(/^rfc822;\s*/i, '').match(ADDRESS)?.[0]?.toLowerCase() ?? null;
}

function bounceFromDsn(report: string, ref: BounceEvent['ref'], originalMessageId: string | null): BounceEvent | null {
  const action = field(report, 'Action')?.toLowerCase() ?? '';
  const status = STATUS.exec(field(report, 'Status') ?? '')?.[0];
  if (!status || !['failed', 'delayed'].includes(action)) return null;
  const recipient = addressOf(field(report, 'Final-Recipient')) ?? addressOf(field(report, 'Original-Recipient'));
  const soft = action === 'delayed' || status.startsWith('4');
  return { kind: 'bounce', recipient, status, soft, diagnostic: field(report, 'Diagnostic-Code'), ref, originalMessageId };
}

function looksLikeBounce(mail: ParsedMail): boolean {
  const from = mail.from?.value[0]?.address ?? '';
  return BOUNCE_SENDER.test(from) || BOUNCE_SUBJECT.test(mail.subject ?? '') || mail.headers.has('x-failed-recipients');
}

/** Exchange, Gmail and Postfix bounces written for people: the status code and address from the text. */
function bounceFromText(mail: ParsedMail, ref: BounceEvent['ref'], originalMessageId: string | null): BounceEvent | null {
  const text = mail.text ?? '';
  const status = STATUS.exec(text)?.[0] ?? (/\b5\d\d[ -]/.test(text) ? '5.0.0' : /\b4\d\d[ -]/.test(text) ? '4.0.0' : null);
  if (!status || status.startsWith('2')) return null;
  const failed = mail.headers.get('x-failed-recipients');
  const own = new Set([...(mail.from?.value ?? []), ...toList(mail.to)].map((a) => a.address?.toLowerCase()));
  const recipient = addressOf(typeof failed === 'string' ? failed : null) ?? [...text.matchAll(ADDRESS)].map((m) => m[0].toLowerCase()).find((a) => !own.has(a)) ?? null;
  const line = text.split(/\r?\n/).find((l) => l.includes(status)) ?? null;
  return { kind: 'bounce', recipient, status, soft: status.startsWith('4'), diagnostic: line?.trim().slice(0, 500) ?? null, ref, originalMessageId };
}

function toList(to: ParsedMail['to']): { address?: string }[] {
  if (!to) return [];
  return (Array.isArray(to) ? to : [to]).flatMap((a) => a.value);
}

function complaintFrom(mail: ParsedMail, raw: string, ref: ComplaintEvent['ref'], originalMessageId: string | null): InboundEvent {
  const report = partText(mail, 'message/feedback-report') ?? raw;
  const type = field(report, 'Feedback-Type')?.toLowerCase();
  if (type && type !== 'abuse' && type !== 'fraud') return { kind: 'unknown', reason: `feedback report of type ${type}` };
  const recipient = addressOf(field(report, 'Original-Rcpt-To')) ?? addressOf(field(originalHeaders(mail, raw), 'To'));
  return { kind: 'complaint', recipient, ref, originalMessageId };
}

/** The quoted headers of the e-mail a report is about (message/rfc822 or text/rfc822-headers part). */
function originalHeaders(mail: ParsedMail, raw: string): string {
  const part = mail.attachments.find((a) => ['message/rfc822', 'text/rfc822-headers'].includes(a.contentType.toLowerCase()));
  if (part) return part.content.toString('utf8');
  // mailparser may inline a message/rfc822 part; its headers then sit in the raw text after the report.
  const at = raw.search(/^Content-Type:\s*(message\/rfc822|text\/rfc822-headers)/im);
  return at >= 0 ? raw.slice(at).replace(/^[^\n]*\n/, '') : '';
}

function findOriginalMessageId(mail: ParsedMail, raw: string): string | null {
  const quoted = field(originalHeaders(mail, raw), 'Message-ID');
  if (quoted) return quoted;
  return /<?((?:notification|digest)-\d+-\d+@[^>\s]+)>?/.exec(raw)?.[1] ?? null;
}

function isAutoReply(mail: ParsedMail): boolean {
  const auto = String(mail.headers.get('auto-submitted') ?? '').toLowerCase();
  const precedence = String(mail.headers.get('precedence') ?? '').toLowerCase();
  return (auto !== '' && auto !== 'no') || mail.headers.has('x-autoreply') || mail.headers.has('x-autorespond') || precedence === 'auto_reply' || AUTO_REPLY_SUBJECT.test(mail.subject ?? '');
}
