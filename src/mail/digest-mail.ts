import type { DigestContent } from '../core/digest-content.ts';
import type { DigestSender } from '../core/digest-delivery.ts';
import type { Links } from '../core/links.ts';
import { topicDisplayName } from '../core/topic-names.ts';
import type { TokenSigner } from '../core/tokens.ts';
import { formatDateTime } from '../brand/format-date.ts';
import { translate, type Lang } from '../i18n.ts';
import type { Mailer } from './mailer.ts';
import type { EmailRenderer } from './render.ts';
import { SlottedListMail, type ListMailKind, type NotificationIdentity } from './slotted-list-mail.ts';

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

/** The digest kind of list mail: one built message per (sections and new articles, language). */
const DIGEST: ListMailKind<DigestContent> = {
  template: 'digest',
  verp: 'digest',
  cacheSize: 256,
  key: (content) => content.key,
  texts: (content) => content.groups.flatMap((g) => g.articles.flatMap((a) => [a.title, a.url, a.summary])).filter((v): v is string => typeof v === 'string'),
  boundary: (content, lang) => `----=_powiadom_digest_${content.runId}_${lang}`,
  data: (content, lang, links, identity) => {
    const titles = content.groups.flatMap((g) => g.articles.map((a) => a.title)).join(' · ');
    return {
      subject: digestSubject(content.articleCount, content.periodEnd, lang, identity.officeShortName),
      preheader: titles.length > 140 ? `${titles.slice(0, 139)}…` : titles,
      heading: translate(lang, content.frequency === 'weekly' ? 'emails.digest.headingWeekly' : 'emails.digest.headingDaily'),
      intro: translate(lang, 'emails.digest.intro'),
      groups: content.groups.map((g) => ({
        name: g.topic ? topicDisplayName(g.topic, lang) : null,
        articles: g.articles.map((a) => ({ title: a.title, url: a.url, summary: a.summary, lang: a.lang, publishedAt: formatDateTime(a.published_at, lang) })),
      })),
      ...links,
    };
  },
  messageId: (content, recipient, identity) => digestMessageId(content.runId, recipient.deliveryId, identity.idDomain),
};

/**
 * Digest e-mails on the notifications' fast path (the shared slotted list mail): built once per
 * (content, language), then filled per recipient. Readers who follow the same sections and have the same
 * new articles share one built message.
 */
export class DigestMail extends SlottedListMail<DigestContent> implements DigestSender {
  constructor(renderer: EmailRenderer, links: Links, signer: TokenSigner, mailer: Mailer, identity: NotificationIdentity) {
    super(renderer, links, signer, mailer, identity, DIGEST);
  }
}
