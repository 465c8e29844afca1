import type { Config } from '../config.ts';
import type { ArticleRow } from '../db/article-queries.ts';
import type { NotificationSender } from '../core/delivery.ts';
import type { Links } from '../core/links.ts';
import type { TokenSigner } from '../core/tokens.ts';
import { officeShortName } from '../brand/brand.ts';
import { formatDateTime } from '../brand/format-date.ts';
import { createVerp, isInboundMailConfigured } from '../inbound/inbound-config.ts';
import type { Mailer } from './mailer.ts';
import type { EmailRenderer } from './render.ts';
import { SlottedListMail, type ListMailKind, type NotificationIdentity } from './slotted-list-mail.ts';
import { messageIdDomain } from './transactional.ts';

export type { NotificationIdentity } from './slotted-list-mail.ts';

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

/** The notification kind of list mail: one built message per (article, language). */
const NOTIFICATION: ListMailKind<ArticleRow> = {
  template: 'notification',
  verp: 'notification',
  cacheSize: 32,
  key: (article) => String(article.id),
  texts: (article) => [article.title, article.summary, article.url, article.image_url, article.source].filter((v): v is string => typeof v === 'string'),
  boundary: (article, lang) => `----=_powiadom_${article.id}_${lang}`,
  data: (article, lang, links) => ({
    subject: article.title,
    preheader: preheaderOf(article),
    title: article.title,
    summary: article.summary,
    url: article.url,
    imageUrl: article.image_url,
    source: article.source,
    publishedAt: formatDateTime(article.published_at, lang),
    articleLang: article.lang,
    ...links,
  }),
  messageId: (article, recipient, identity) => notificationMessageId(article.id, recipient.deliveryId, identity.idDomain),
};

/**
 * Notification e-mails built once per (article, language) as a raw MIME message with fixed-length
 * slots, then filled per recipient with the address, the Message-ID and two link tokens (the shared
 * slotted list mail). MJML and Handlebars run once per (article, language).
 */
export class NotificationMail extends SlottedListMail<ArticleRow> implements NotificationSender {
  constructor(renderer: EmailRenderer, links: Links, signer: TokenSigner, mailer: Mailer, identity: NotificationIdentity) {
    super(renderer, links, signer, mailer, identity, NOTIFICATION);
  }
}
