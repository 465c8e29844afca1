import type { DigestContent } from '../core/digest-content.ts';
import type { DigestRecipient, DigestSender } from '../core/digest-delivery.ts';
import type { SendFailure } from '../core/delivery.ts';
import type { Links } from '../core/links.ts';
import { topicDisplayName } from '../core/topic-names.ts';
import { TOKEN_LENGTH, type TokenSigner } from '../core/tokens.ts';
import { formatDateTime } from '../brand/format-date.ts';
import { toLang, translate, type Lang } from '../i18n.ts';
import type { Mailer } from './mailer.ts';
import { maskSmtpError } from './mask-addresses.ts';
import { encodeHeaderWords, encodeMailbox, encodeQuotedPrintable, FilledMessage, freshMarkers, mailboxAddress, splitSlots, toSlottedBytes, type SlottedBytes, type SlottedText } from './mime-template.ts';
import { concatSlotted, type NotificationIdentity } from './notification.ts';
import type { EmailRenderer } from './render.ts';
import { classifySmtpError } from './smtp-errors.ts';

type Slot = 'to' | 'msgid' | 'unsub' | 'manage' | 'date';

// Markers are drawn afresh for every build and checked absent from the articles' text (see notification.ts):
// article text is never interpreted. Link markers are exactly as long as the tokens they stand for.
const MARKER_LENGTHS: Record<Slot, number> = { to: 24, msgid: 24, unsub: TOKEN_LENGTH, manage: TOKEN_LENGTH, date: 24 };
const CACHE_SIZE = 256;

/** Deterministic Message-ID of a digest delivery (without angle brackets). */
export function digestMessageId(runId: number, deliveryId: number, idDomain: string): string {
  return `digest-${runId}-${deliveryId}@${idDomain}`;
}

const dateFormats = {
  pl: new Intl.DateTimeFormat('pl-PL', { dateStyle: 'long', timeZone: 'Europe/Warsaw' }),
  en: new Intl.DateTimeFormat('en-GB', { dateStyle: 'long', timeZone: 'Europe/Warsaw' }),
};
const plurals = { pl: new Intl.PluralRules('pl-PL'), en: new Intl.PluralRules('en-GB') };

/** The digest's subject: "Powiadomienia DUW: 3 nowe artykuły (2 grudnia 2026)", with the language's plural. */
export function digestSubject(count: number, date: Date, lang: Lang, office: string): string {
  const form = plurals[lang].select(count);
  const key = lang === 'pl' ? { one: 'subjectOne', few: 'subjectFew' }[form as 'one' | 'few'] ?? 'subjectMany' : form === 'one' ? 'subjectOne' : 'subjectOther';
  return translate(lang, `emails.digest.${key}`).replace('{office}', office).replace('{count}', String(count)).replace('{date}', dateFormats[lang].format(date));
}

/**
 * Digest e-mails on the notifications' fast path: built once per (content, language) as a raw MIME message
 * with fixed-length slots, then filled per recipient (address, Message-ID, two link tokens, date). Readers
 * who follow the same sections and have the same new articles share one built message.
 */
export class DigestMail implements DigestSender {
  private readonly cache = new Map<string, SlottedBytes<Slot>>();
  private date = { second: 0, text: '' };

  constructor(
    private readonly renderer: EmailRenderer,
    private readonly links: Links,
    private readonly signer: TokenSigner,
    private readonly mailer: Mailer,
    private readonly identity: NotificationIdentity,
  ) {}

  /** The raw message of one recipient. */
  build(content: DigestContent, recipient: DigestRecipient): FilledMessage<Slot> {
    return new FilledMessage(this.template(content, toLang(recipient.lang)), {
      to: recipient.email,
      msgid: digestMessageId(content.runId, recipient.deliveryId, this.identity.idDomain),
      unsub: this.signer.signForSubscriber('unsubscribe', recipient.subscriberId, recipient.tokenVersion ?? 0),
      manage: this.signer.signForSubscriber('manage', recipient.subscriberId, recipient.tokenVersion ?? 0),
      date: this.dateHeader(),
    });
  }

  async send(content: DigestContent, recipient: DigestRecipient): Promise<void> {
    const from = this.identity.verp?.address({ kind: 'digest', id: recipient.deliveryId }) ?? mailboxAddress(this.identity.mailFrom);
    try {
      await this.mailer.sendRaw({ from, to: recipient.email, raw: this.build(content, recipient) });
    } catch (err) {
      // the ledger stores this text: never with the address a relay quoted
      throw maskSmtpError(err);
    }
  }

  classify(err: unknown): SendFailure {
    return classifySmtpError(err);
  }

  private template(content: DigestContent, lang: Lang): SlottedBytes<Slot> {
    const key = `${content.key}:${lang}`;
    let template = this.cache.get(key);
    if (!template) {
      template = toSlottedBytes(this.compose(content, lang));
      if (this.cache.size >= CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, template);
    }
    return template;
  }

  private dateHeader(): string {
    const second = Math.floor(Date.now() / 1000);
    if (second !== this.date.second) this.date = { second, text: new Date(second * 1000).toUTCString().replace(/GMT$/, '+0000') };
    return this.date.text;
  }

  private slotUrl(kind: 'unsubscribe' | 'preferences', lang: Lang, markers: Record<Slot, string>): string {
    const purpose = kind === 'unsubscribe' ? 'unsubscribe' : 'manage';
    const url = kind === 'unsubscribe' ? this.links.unsubscribe(0, lang) : this.links.preferences(0, lang);
    return url.replace(this.signer.sign(purpose, 0), kind === 'unsubscribe' ? markers.unsub : markers.manage);
  }

  private compose(content: DigestContent, lang: Lang): SlottedText<Slot> {
    const outside = content.groups.flatMap((g) => g.articles.flatMap((a) => [a.title, a.url, a.summary])).filter((v): v is string => typeof v === 'string');
    const markers = freshMarkers(MARKER_LENGTHS, outside);
    const groups = content.groups.map((g) => ({
      name: g.topic ? topicDisplayName(g.topic, lang) : null,
      articles: g.articles.map((a) => ({ title: a.title, url: a.url, summary: a.summary, lang: a.lang, publishedAt: formatDateTime(a.published_at, lang) })),
    }));
    const titles = content.groups.flatMap((g) => g.articles.map((a) => a.title)).join(' · ');
    const rendered = this.renderer.render('digest', lang, {
      subject: digestSubject(content.articleCount, content.periodEnd, lang, this.identity.officeShortName),
      preheader: titles.length > 140 ? `${titles.slice(0, 139)}…` : titles,
      heading: translate(lang, content.frequency === 'weekly' ? 'emails.digest.headingWeekly' : 'emails.digest.headingDaily'),
      intro: translate(lang, 'emails.digest.intro'),
      groups,
      preferencesUrl: this.slotUrl('preferences', lang, markers),
      unsubscribeUrl: this.slotUrl('unsubscribe', lang, markers),
    });
    const boundary = `----=_powiadom_digest_${content.runId}_${lang}`;
    const head = splitSlots(this.headers(rendered.subject, lang, boundary, markers), markers);
    const body = (type: string, text: string) => [
      `--${boundary}\r\nContent-Type: ${type}; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n`,
      encodeQuotedPrintable(text, { unsub: markers.unsub, manage: markers.manage }),
    ] as const;
    return concatSlotted([head, ...body('text/plain', rendered.text), '\r\n', ...body('text/html', rendered.html), `\r\n--${boundary}--\r\n`]);
  }

  private headers(subject: string, lang: Lang, boundary: string, markers: Record<Slot, string>): string {
    const { mailFrom, replyTo, listId, unsubscribeMailto } = this.identity;
    const lines = [
      `From: ${encodeMailbox(mailFrom)}`,
      `To: ${markers.to}`,
      ...(replyTo ? [`Reply-To: ${encodeMailbox(replyTo)}`] : []),
      `Subject: ${encodeHeaderWords(subject)}`,
      `Date: ${markers.date}`,
      `Message-ID: <${markers.msgid}>`,
      'MIME-Version: 1.0',
      `Content-Language: ${lang}`,
      `List-Id: ${encodeHeaderWords(listId)}`,
      unsubscribeMailto
        ? `List-Unsubscribe: <${this.slotUrl('unsubscribe', lang, markers)}>,\r\n <mailto:${unsubscribeMailto}?subject=unsubscribe%20${markers.unsub}>`
        : `List-Unsubscribe: <${this.slotUrl('unsubscribe', lang, markers)}>`,
      'List-Unsubscribe-Post: List-Unsubscribe=One-Click',
      'Auto-Submitted: auto-generated',
      'Precedence: bulk',
      'X-Auto-Response-Suppress: All',
      `Content-Type: multipart/alternative; boundary="${boundary}"`,
    ];
    return `${lines.join('\r\n')}\r\n\r\nThis is a multi-part message in MIME format.\r\n`;
  }
}
