import type { Config } from '../config.ts';
import type { ArticleRow } from '../db/article-queries.ts';
import type { Recipient, NotificationSender, SendFailure } from '../core/delivery.ts';
import type { Links } from '../core/links.ts';
import { TOKEN_LENGTH, type TokenSigner } from '../core/tokens.ts';
import { toLang, translate, type Lang } from '../i18n.ts';
import type { Mailer } from './mailer.ts';
import {
  encodeHeaderWords,
  encodeMailbox,
  encodeQuotedPrintable,
  FilledMessage,
  mailboxAddress,
  placeholder,
  splitSlots,
  toSlottedBytes,
  type SlottedBytes,
  type SlottedText,
} from './mime-template.ts';
import type { EmailRenderer } from './render.ts';
import { classifySmtpError } from './smtp-errors.ts';
import { messageIdDomain } from './transactional.ts';

type Slot = 'to' | 'msgid' | 'unsub' | 'manage' | 'date';

const PLACEHOLDERS: Record<Slot, string> = {
  to: placeholder('recipient', 24),
  msgid: placeholder('messageid', 24),
  unsub: placeholder('unsub', TOKEN_LENGTH),
  manage: placeholder('manage', TOKEN_LENGTH),
  date: placeholder('date', 24),
};
const BODY_SLOTS = { unsub: PLACEHOLDERS.unsub, manage: PLACEHOLDERS.manage };
const CACHE_SIZE = 32;

/** Where notifications come from and how they identify their list. */
export interface NotificationIdentity {
  mailFrom: string;
  replyTo?: string;
  /** List-Id header value, e.g. "Powiadom <powiadomienia.duw.example>" */
  listId: string;
  /** address of the mailto: List-Unsubscribe target */
  unsubscribeMailto: string;
  /** domain of Message-IDs */
  idDomain: string;
}

/** The List-Id of the notification list: LIST_ID, else derived from the From domain. */
export function defaultListId(listId: string | undefined, idDomain: string): string {
  if (!listId) return `Powiadom <powiadomienia.${idDomain}>`;
  return listId.includes('<') ? listId : `<${listId}>`;
}

/** The identity of notifications under this configuration (MAIL_FROM, MAIL_REPLY_TO, LIST_ID, UNSUBSCRIBE_MAILTO). */
export function notificationIdentity(config: Config): NotificationIdentity {
  const idDomain = messageIdDomain(config.MAIL_FROM);
  return {
    mailFrom: config.MAIL_FROM,
    replyTo: config.MAIL_REPLY_TO,
    listId: defaultListId(config.LIST_ID, idDomain),
    unsubscribeMailto: config.UNSUBSCRIBE_MAILTO ?? `unsubscribe@${idDomain}`,
    idDomain,
  };
}

/** Deterministic Message-ID of a delivery (without angle brackets). */
export function notificationMessageId(articleId: number, deliveryId: number, idDomain: string): string {
  return `notification-${articleId}-${deliveryId}@${idDomain}`;
}

function formatDate(date: Date, lang: Lang): string {
  return new Intl.DateTimeFormat(lang === 'en' ? 'en-GB' : 'pl-PL', { dateStyle: 'long', timeStyle: 'short', timeZone: 'Europe/Warsaw' }).format(date);
}

function preheaderOf(article: ArticleRow): string {
  const text = (article.summary ?? article.title).replace(/\s+/g, ' ').trim();
  return text.length > 140 ? `${text.slice(0, 139)}…` : text;
}

/**
 * Notification e-mails built once per (article, language) as a raw MIME message with fixed-length
 * slots, then filled per recipient with the address, the Message-ID and two link tokens. MJML and
 * Handlebars run once per (article, language); a recipient costs two HMACs and a string join.
 */
export class NotificationMail implements NotificationSender {
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
  build(article: ArticleRow, recipient: Recipient): FilledMessage<Slot> {
    const template = this.template(article, toLang(recipient.lang));
    return new FilledMessage(template, {
      to: recipient.email,
      msgid: notificationMessageId(article.id, recipient.deliveryId, this.identity.idDomain),
      unsub: this.signer.sign('unsubscribe', recipient.subscriberId),
      manage: this.signer.sign('manage', recipient.subscriberId),
      date: this.dateHeader(),
    });
  }

  async send(article: ArticleRow, recipient: Recipient): Promise<void> {
    await this.mailer.sendRaw({ from: mailboxAddress(this.identity.mailFrom), to: recipient.email, raw: this.build(article, recipient) });
  }

  classify(err: unknown): SendFailure {
    return classifySmtpError(err);
  }

  private template(article: ArticleRow, lang: Lang): SlottedBytes<Slot> {
    const key = `${article.id}:${lang}`;
    let template = this.cache.get(key);
    if (!template) {
      template = toSlottedBytes(this.compose(article, lang));
      if (this.cache.size >= CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, template);
    }
    return template;
  }

  /** The Date header of messages sent now (formatted once per second). */
  private dateHeader(): string {
    const second = Math.floor(Date.now() / 1000);
    if (second !== this.date.second) this.date = { second, text: new Date(second * 1000).toUTCString().replace(/GMT$/, '+0000') };
    return this.date.text;
  }

  private slotUrl(kind: 'unsubscribe' | 'preferences', lang: Lang): string {
    const purpose = kind === 'unsubscribe' ? 'unsubscribe' : 'manage';
    const url = kind === 'unsubscribe' ? this.links.unsubscribe(0, lang) : this.links.preferences(0, lang);
    return url.replace(this.signer.sign(purpose, 0), kind === 'unsubscribe' ? PLACEHOLDERS.unsub : PLACEHOLDERS.manage);
  }

  private compose(article: ArticleRow, lang: Lang): SlottedText<Slot> {
    const rendered = this.renderer.render('notification', lang, {
      subject: article.title,
      preheader: preheaderOf(article),
      title: article.title,
      summary: article.summary,
      url: article.url,
      imageUrl: article.image_url,
      source: article.source,
      publishedAt: formatDate(article.published_at, lang),
      officeName: translate(lang, 'office'),
      preferencesUrl: this.slotUrl('preferences', lang),
      unsubscribeUrl: this.slotUrl('unsubscribe', lang),
    });
    const boundary = `----=_powiadom_${article.id}_${lang}`;
    const head = splitSlots(this.headers(rendered.subject, lang, boundary), PLACEHOLDERS);
    const body = (type: string, content: string) => [
      `--${boundary}\r\nContent-Type: ${type}; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n`,
      encodeQuotedPrintable(content, BODY_SLOTS),
    ] as const;
    return concatSlotted([head, ...body('text/plain', rendered.text), '\r\n', ...body('text/html', rendered.html), `\r\n--${boundary}--\r\n`]);
  }

  private headers(subject: string, lang: Lang, boundary: string): string {
    const { mailFrom, replyTo, listId, unsubscribeMailto } = this.identity;
    const lines = [
      `From: ${encodeMailbox(mailFrom)}`,
      `To: ${PLACEHOLDERS.to}`,
      ...(replyTo ? [`Reply-To: ${encodeMailbox(replyTo)}`] : []),
      `Subject: ${encodeHeaderWords(subject)}`,
      `Date: ${PLACEHOLDERS.date}`,
      `Message-ID: <${PLACEHOLDERS.msgid}>`,
      'MIME-Version: 1.0',
      `Content-Language: ${lang}`,
      `List-Id: ${encodeHeaderWords(listId)}`,
      `List-Unsubscribe: <${this.slotUrl('unsubscribe', lang)}>,\r\n <mailto:${unsubscribeMailto}?subject=unsubscribe%20${PLACEHOLDERS.unsub}>`,
      'List-Unsubscribe-Post: List-Unsubscribe=One-Click',
      'Auto-Submitted: auto-generated',
      'Precedence: bulk',
      'X-Auto-Response-Suppress: All',
      `Content-Type: multipart/alternative; boundary="${boundary}"`,
    ];
    return `${lines.join('\r\n')}\r\n\r\nThis is a multi-part message in MIME format.\r\n`;
  }
}

/** Concatenates texts and slotted texts into one slotted text. */
export function concatSlotted<S extends string>(pieces: (string | SlottedText<S>)[]): SlottedText<S> {
  const parts: string[] = [];
  const slots: S[] = [];
  let open = '';
  for (const piece of pieces) {
    if (typeof piece === 'string') {
      open += piece;
      continue;
    }
    open += piece.parts[0]!;
    piece.slots.forEach((slot, i) => {
      parts.push(open);
      slots.push(slot);
      open = piece.parts[i + 1]!;
    });
  }
  parts.push(open);
  return { parts, slots };
}
