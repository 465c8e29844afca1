// Messages as real servers send them back: bounces (Postfix RFC 3464 DSN, Exchange and Gmail texts), an ARF
// complaint, a mailto unsubscribe, an out-of-office reply and a message no program should understand.
const CRLF = '\r\n';
const join = (lines: string[]) => lines.join(CRLF) + CRLF;

/** The four header lines every message here has, in this order, then any others. */
const headers = (from: string, to: string, subject: string, messageId: string, ...more: string[]) => [`From: ${from}`, `To: ${to}`, `Subject: ${subject}`, `Message-ID: <${messageId}>`, ...more];

/** One part of a multipart body: its boundary line, its headers, a blank line and its lines. */
const part = (boundary: string, partHeaders: string[], lines: string[]) => [`--${boundary}`, ...partHeaders, '', ...lines];

/** The headers of the notification that bounced, as a report quotes them. */
const notificationHeaders = (f: BounceFields) => headers('Powiadom DUW <powiadom@duw.example>', f.recipient, 'Komunikat', f.originalId);

/** Fields the builders fill in. */
export interface BounceFields {
  /** the envelope sender the bounce comes back to (a VERP address, or the plain bounce address) */
  to: string;
  recipient: string;
  /** Message-ID of the notification, without brackets */
  originalId: string;
  messageId: string;
}

/** Postfix's RFC 3464 DSN (multipart/report; report-type=delivery-status). */
export function postfixDsn(f: BounceFields, status = '5.1.1', action = 'failed', subject = 'Undelivered Mail Returned to Sender'): string {
  const diagnostic = status.startsWith('5') ? `smtp; 550 ${status} <${f.recipient}>: Recipient address rejected: User unknown in virtual mailbox table` : `smtp; 452 ${status} <${f.recipient}>: Mailbox full`;
  return join([
    'Return-Path: <>',
    `Delivered-To: ${f.to}`,
    ...headers('MAILER-DAEMON@mx.duw.example (Mail Delivery System)', f.to, subject, f.messageId, 'Auto-Submitted: auto-replied', 'MIME-Version: 1.0'),
    'Content-Type: multipart/report; report-type=delivery-status; boundary="B1"',
    '',
    ...part('B1', ['Content-Description: Notification', 'Content-Type: text/plain; charset=us-ascii'], [
      'This is the mail system at host mx.duw.example.',
      '',
      "I'm sorry to have to inform you that your message could not",
      'be delivered to one or more recipients.',
      '',
    ]),
    ...part('B1', ['Content-Description: Delivery report', 'Content-Type: message/delivery-status'], [
      'Reporting-MTA: dns; mx.duw.example',
      'X-Postfix-Queue-ID: 4AB12C3D4E',
      '',
      `Final-Recipient: rfc822; ${f.recipient}`,
      `Original-Recipient: rfc822;${f.recipient}`,
      `Action: ${action}`,
      `Status: ${status}`,
      'Remote-MTA: dns; mx.example.pl',
      `Diagnostic-Code: ${diagnostic}`,
      '',
    ]),
    ...part('B1', ['Content-Description: Undelivered Message Headers', 'Content-Type: text/rfc822-headers'], [...notificationHeaders(f), '']),
    '--B1--',
  ]);
}

/** Exchange's "Undeliverable:" report as text for people (older Exchange, or with the report part stripped). */
export function exchangeNdr(f: BounceFields): string {
  return join([
    ...headers('Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@urzad.example>', f.to, 'Undeliverable: Komunikat', f.messageId),
    'Content-Type: text/plain; charset="utf-8"',
    'Content-Transfer-Encoding: 8bit',
    'MIME-Version: 1.0',
    '',
    'Delivery has failed to these recipients or groups:',
    '',
    f.recipient,
    "The e-mail address you entered couldn't be found.",
    '',
    'Diagnostic information for administrators:',
    '',
    'Generating server: EX01.urzad.example',
    '',
    f.recipient,
    "Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup'",
    '',
    'Original message headers:',
    '',
    'From: Powiadom DUW <powiadom@duw.example>',
    `Message-ID: <${f.originalId}>`,
    'Subject: Komunikat',
  ]);
}

/** Gmail's bounce as text with X-Failed-Recipients; here a policy rejection (5.7.1). */
export function gmailBounce(f: BounceFields, status = '5.7.1'): string {
  return join([
    ...headers('Mail Delivery Subsystem <mailer-daemon@googlemail.com>', f.to, 'Delivery Status Notification (Failure)', f.messageId, `X-Failed-Recipients: ${f.recipient}`, 'Auto-Submitted: auto-replied', 'MIME-Version: 1.0'),
    'Content-Type: text/plain; charset="UTF-8"',
    '',
    '** Message blocked **',
    '',
    `Your message to ${f.recipient} has been blocked. See technical details below for more information.`,
    '',
    'The response from the remote server was:',
    `550 ${status} [192.0.2.10] Our system has detected that this message is likely unsolicited mail.`,
  ]);
}

/** An RFC 5965 ARF complaint (a mailbox provider's feedback loop). */
export function arfComplaint(f: BounceFields): string {
  return join([
    ...headers('Feedback Loop <fbl@isp.example>', f.to, 'FW: Komunikat', f.messageId, 'MIME-Version: 1.0'),
    'Content-Type: multipart/report; report-type=feedback-report; boundary="ARF"',
    '',
    ...part('ARF', ['Content-Type: text/plain; charset="US-ASCII"'], ['This is an email abuse report for an email message received from IP 192.0.2.1.', '']),
    ...part('ARF', ['Content-Type: message/feedback-report'], ['Feedback-Type: abuse', 'User-Agent: SomeGenerator/1.0', 'Version: 1', `Original-Rcpt-To: ${f.recipient}`, '']),
    ...part('ARF', ['Content-Type: message/rfc822', 'Content-Disposition: inline'], [...notificationHeaders(f), '', 'Treść powiadomienia.', '']),
    '--ARF--',
  ]);
}

/** What a mail program sends for the mailto: of List-Unsubscribe (possibly forwarded by someone else). */
export function mailtoUnsubscribe(token: string, messageId: string, from = 'ktos.inny@forward.example'): string {
  return join([...headers(from, 'unsubscribe@duw.example', `unsubscribe ${token}`, messageId), '', '']);
}

/** An out-of-office reply (RFC 3834). */
export function outOfOffice(messageId: string): string {
  return join([
    ...headers('Jan Kowalski <jan.kowalski@example.pl>', 'bounces@duw.example', 'Automatic reply: Komunikat', messageId, 'Auto-Submitted: auto-replied', 'X-Auto-Response-Suppress: All'),
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Jestem na urlopie do 15 grudnia.',
  ]);
}

/** A message no rule recognises: a person must read it. */
export function garbage(messageId: string): string {
  return join([
    ...headers('Mieszkaniec <mieszkaniec@example.pl>', 'bounces@duw.example', 'Pytanie o godziny otwarcia', messageId),
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Dzień dobry, w jakich godzinach czynny jest urząd?',
  ]);
}
