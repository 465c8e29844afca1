import type { Recipient, SendFailure } from '../core/delivery.ts';
import type { Links } from '../core/links.ts';
import { TOKEN_LENGTH, type TokenSigner } from '../core/tokens.ts';
import type { VerpAddresses } from '../core/verp.ts';
import { toLang, type Lang } from '../i18n.ts';
import type { Mailer } from './mailer.ts';
import { maskSmtpError } from './mask-addresses.ts';
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
import type { EmailData, EmailName, EmailRenderer } from './render.ts';
import { classifySmtpError } from './smtp-errors.ts';

/** The per-recipient slots of a list mail: address, Message-ID, two link tokens, Date header. */
export type ListMailSlot = 'to' | 'msgid' | 'unsub' | 'manage' | 'date';

// Marker lengths: the link tokens' markers must be exactly as long as the tokens (the quoted-printable
// lines are laid out around them); header slots take values of any length.
const MARKER_LENGTHS: Record<ListMailSlot, number> = { to: 24, msgid: 24, unsub: TOKEN_LENGTH, manage: TOKEN_LENGTH, date: 24 };

/** Where list mail (notifications, digests) comes from and how it identifies its list. */
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

/** The two link URLs of a list mail, with the token markers in place of the recipient's tokens. */
export interface ListMailLinks {
  preferencesUrl: string;
  unsubscribeUrl: string;
}

/** What one kind of list mail (a notification, a digest) adds to the shared slotted-message machinery. */
export interface ListMailKind<C> {
  /** the e-mail template it renders */
  template: EmailName;
  /** the ledger its VERP envelope senders name */
  verp: 'notification' | 'digest';
  /** how many built messages are kept */
  cacheSize: number;
  /** recipients of contents with the same key (and language) share one built message */
  key(content: C): string;
  /** every text of the content: the markers are drawn absent from them, so content is never read as a slot */
  texts(content: C): string[];
  /** MIME boundary of the built message */
  boundary(content: C, lang: Lang): string;
  /** the template's data in one language */
  data(content: C, lang: Lang, links: ListMailLinks, identity: NotificationIdentity): EmailData;
  /** the recipient's deterministic Message-ID (without angle brackets) */
  messageId(content: C, recipient: Recipient, identity: NotificationIdentity): string;
}

/**
 * List mail built once per (content, language) as a raw MIME message with fixed-length slots, then filled
 * per recipient with the address, the Message-ID, two link tokens and the date. MJML and Handlebars run
 * once per (content, language); a recipient costs two HMACs and a string join. Notifications and digests
 * are two kinds of it, so headers, slots and body assembly are written once.
 */
export class SlottedListMail<C> {
  private readonly cache = new Map<string, SlottedBytes<ListMailSlot>>();
  private date = { second: 0, text: '' };

  constructor(
    private readonly renderer: EmailRenderer,
    private readonly links: Links,
    private readonly signer: TokenSigner,
    private readonly mailer: Mailer,
    private readonly identity: NotificationIdentity,
    private readonly kind: ListMailKind<C>,
  ) {}

  /** The raw message of one recipient. */
  build(content: C, recipient: Recipient): FilledMessage<ListMailSlot> {
    return new FilledMessage(this.template(content, toLang(recipient.lang)), {
      to: recipient.email,
      msgid: this.kind.messageId(content, recipient, this.identity),
      unsub: this.signer.signForSubscriber('unsubscribe', recipient.subscriberId, recipient.tokenVersion ?? 0),
      manage: this.signer.signForSubscriber('manage', recipient.subscriberId, recipient.tokenVersion ?? 0),
      date: this.dateHeader(),
    });
  }

  /** Sends one recipient's message from its VERP envelope sender (else MAIL_FROM); `admit` as in RawMessage. */
  async send(content: C, recipient: Recipient, admit?: () => Promise<void>): Promise<void> {
    const from = this.identity.verp?.address({ kind: this.kind.verp, id: recipient.deliveryId }) ?? mailboxAddress(this.identity.mailFrom);
    try {
      await this.mailer.sendRaw({ from, to: recipient.email, raw: this.build(content, recipient), admit });
    } catch (err) {
      // the ledger stores this text (last_error): never with the address a relay quoted
      throw maskSmtpError(err);
    }
  }

  /** Whether a send error is worth another attempt. */
  classify(err: unknown): SendFailure {
    return classifySmtpError(err);
  }

  private template(content: C, lang: Lang): SlottedBytes<ListMailSlot> {
    const key = `${this.kind.key(content)}:${lang}`;
    let template = this.cache.get(key);
    if (!template) {
      template = toSlottedBytes(this.compose(content, lang));
      if (this.cache.size >= this.kind.cacheSize) this.cache.delete(this.cache.keys().next().value!);
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

  private slotUrl(kind: 'unsubscribe' | 'preferences', lang: Lang, markers: Record<ListMailSlot, string>): string {
    const purpose = kind === 'unsubscribe' ? 'unsubscribe' : 'manage';
    const url = kind === 'unsubscribe' ? this.links.unsubscribe(0, lang) : this.links.preferences(0, lang);
    return url.replace(this.signer.sign(purpose, 0), kind === 'unsubscribe' ? markers.unsub : markers.manage);
  }

  /**
   * The message of one (content, language) with slots where recipient values go. Content text is never
   * searched for slots: the markers are fresh for this build and absent from every text of the content.
   */
  private compose(content: C, lang: Lang): SlottedText<ListMailSlot> {
    const markers = freshMarkers(MARKER_LENGTHS, this.kind.texts(content));
    const links = { preferencesUrl: this.slotUrl('preferences', lang, markers), unsubscribeUrl: this.slotUrl('unsubscribe', lang, markers) };
    const rendered = this.renderer.render(this.kind.template, lang, this.kind.data(content, lang, links, this.identity));
    const boundary = this.kind.boundary(content, lang);
    const head = splitSlots(this.headers(rendered.subject, lang, boundary, markers), markers);
    const body = (type: string, text: string) => [
      `--${boundary}\r\nContent-Type: ${type}; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n`,
      encodeQuotedPrintable(text, { unsub: markers.unsub, manage: markers.manage }),
    ] as const;
    return concatSlotted([head, ...body('text/plain', rendered.text), '\r\n', ...body('text/html', rendered.html), `\r\n--${boundary}--\r\n`]);
  }

  private headers(subject: string, lang: Lang, boundary: string, markers: Record<ListMailSlot, string>): string {
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
