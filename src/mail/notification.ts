import type { Config } from '../config.ts';
import type { ArticleRow } from '../db/article-queries.ts';
import type { Recipient, NotificationSender, SendFailure } from '../core/delivery.ts';
import type { Links } from '../core/links.ts';
import { TOKEN_LENGTH, type TokenSigner } from '../core/tokens.ts';
import { officeShortName } from '../brand/brand.ts';
import type { VerpAddresses } from '../core/verp.ts';
import { formatDateTime } from '../brand/format-date.ts';
import { createVerp, isInboundMailConfigured } from '../inbound/inbound-config.ts';
import { toLang, type Lang } from '../i18n.ts';
import type { Mailer } from './mailer.ts';
import {
  encodeHeaderWords,
  encodeMailbox,
  encodeQuotedPrintable,
  FilledMessage,
  freshMarkers,
  mailboxAddress,
  splitSlots,
  toSlottedBytes,
  type SlottedBytes,
  type SlottedText,
} from './mime-template.ts';
import type { EmailRenderer } from './render.ts';
import { maskSmtpError } from './mask-addresses.ts';
import { classifySmtpError } from './smtp-errors.ts';
import { messageIdDomain } from './transactional.ts';

type Slot = 'to' | 'msgid' | 'unsub' | 'manage' | 'date';

// Marker lengths: the link tokens' markers must be exactly as long as the tokens (the quoted-printable
// lines are laid out around them); header slots take values of any length.
const MARKER_LENGTHS: Record<Slot, number> = { to: 24, msgid: 24, unsub: TOKEN_LENGTH, manage: TOKEN_LENGTH, date: 24 };
const CACHE_SIZE = 32;

/** Where notifications come from and how they identify their list. */
export interface NotificationIdentity {
  mailFrom: string;
  replyTo?: string;
  /** List-Id header value, e.g. "Powiadom <powiadomienia.duw.example>" */
  listId: string;
  /** address of the mailto: List-Unsubscribe target; only when inbound mail is read (else the https URL alone) */
  unsubscribeMailto?: string;
  /** per-delivery envelope senders (BOUNCE_ADDRESS); null = MAIL_FROM */
  verp: VerpAddresses | null;
  /** domain of Message-IDs */
  idDomain: string;
  /** the office's short name in digest subjects (BRAND_SHORT_NAME) */
  officeShortName: string;
}

/** The List-Id of the notification list: LIST_ID, else derived from the From domain. */
export function defaultListId(listId: string | undefined, idDomain: string): string {
  if (!listId) return `Powiadom <powiadomienia.${idDomain}>`;
  return listId.includes('<') ? listId : `<${listId}>`;
}

/** The identity of notifications under this configuration (MAIL_FROM, MAIL_REPLY_TO, LIST_ID, UNSUBSCRIBE_MAILTO, BOUNCE_ADDRESS). */
export function notificationIdentity(config: Config): NotificationIdentity {
  const idDomain = messageIdDomain(config.MAIL_FROM);
  return {
    mailFrom: config.MAIL_FROM,
    replyTo: config.MAIL_REPLY_TO,
    listId: defaultListId(config.LIST_ID, idDomain),
    unsubscribeMailto: isInboundMailConfigured(config) ? (config.UNSUBSCRIBE_MAILTO ?? `unsubscribe@${idDomain}`) : undefined,
    verp: createVerp(config),
    idDomain,
    officeShortName: officeShortName(config),
  };
}

/** Deterministic Message-ID of a delivery (without angle brackets). */
export function notificationMessageId(articleId: number, deliveryId: number, idDomain: string): string {
  return `notification-${articleId}-${deliveryId}@${idDomain}`;
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
      unsub: this.signer.signForSubscriber('unsubscribe', recipient.subscriberId, recipient.tokenVersion ?? 0),
      manage: this.signer.signForSubscriber('manage', recipient.subscriberId, recipient.tokenVersion ?? 0),
      date: this.dateHeader(),
    });
  }

  async send(article: ArticleRow, recipient: Recipient): Promise<void> {
    const from = this.identity.verp?.address({ kind: 'notification', id: recipient.deliveryId }) ?? mailboxAddress(this.identity.mailFrom);
    try {
      await this.mailer.sendRaw({ from, to: recipient.email, raw: this.build(article, recipient) });
    } catch (err) {
      // the ledger stores this text (deliveries.last_error): never with the address a relay quoted
      throw maskSmtpError(err);
    }
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

  private slotUrl(kind: 'unsubscribe' | 'preferences', lang: Lang, markers: Record<Slot, string>): string {
    const purpose = kind === 'unsubscribe' ? 'unsubscribe' : 'manage';
    const url = kind === 'unsubscribe' ? this.links.unsubscribe(0, lang) : this.links.preferences(0, lang);
    return url.replace(this.signer.sign(purpose, 0), kind === 'unsubscribe' ? markers.unsub : markers.manage);
  }

  /**
   * The message of one (article, language) with slots where recipient values go. Article text is
   * never searched for slots: the markers are fresh for this build and absent from every field.
   */
  private compose(article: ArticleRow, lang: Lang): SlottedText<Slot> {
    const outside = [article.title, article.summary, article.url, article.image_url, article.source].filter((v): v is string => typeof v === 'string');
    const markers = freshMarkers(MARKER_LENGTHS, outside);
    const rendered = this.renderer.render('notification', lang, {
      subject: article.title,
      preheader: preheaderOf(article),
      title: article.title,
      summary: article.summary,
      url: article.url,
      imageUrl: article.image_url,
      source: article.source,
      publishedAt: formatDateTime(article.published_at, lang),
      articleLang: article.lang,
      preferencesUrl: this.slotUrl('preferences', lang, markers),
      unsubscribeUrl: this.slotUrl('unsubscribe', lang, markers),
    });
    const boundary = `----=_powiadom_${article.id}_${lang}`;
    const head = splitSlots(this.headers(rendered.subject, lang, boundary, markers), markers);
    const body = (type: string, content: string) => [
      `--${boundary}\r\nContent-Type: ${type}; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n`,
      encodeQuotedPrintable(content, { unsub: markers.unsub, manage: markers.manage }),
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
