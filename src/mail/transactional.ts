import type { Links } from '../core/links.ts';
import type { VerpAddresses } from '../core/verp.ts';
import type { ManageLinkService } from '../core/manage-link.ts';
import { hashEmail } from '../core/email-address.ts';
import * as subscribers from '../db/subscriber-queries.ts';
import { getSuppression } from '../db/suppression-queries.ts';
import { listTopics } from '../db/topic-queries.ts';
import type { Db } from '../db/pool.ts';
import { topicDisplayName } from '../core/topic-names.ts';
import { toLang, type Lang } from '../i18n.ts';
import type { EmailJob } from '../jobs/jobs.ts';
import type { OutgoingMessage } from './mailer.ts';
import type { EmailRenderer } from './render.ts';

/** Outcome of composing a transactional e-mail: a message, or why nothing is to be sent. */
export type Composed = { send: OutgoingMessage } | { skip: string };

/** The domain part of the From address, for Message-IDs. */
export function messageIdDomain(mailFrom: string): string {
  return /@([^>\s]+)/.exec(mailFrom)?.[1] ?? 'powiadom.local';
}

/**
 * Composes confirmation, already-subscribed and welcome e-mails from the current database state.
 * Re-checks before sending: a subscriber who confirmed, left or was erased meanwhile gets nothing.
 */
export class TransactionalMail {
  constructor(
    private readonly db: Db,
    private readonly links: Links,
    private readonly renderer: EmailRenderer,
    private readonly manageLinks: Pick<ManageLinkService, 'resolve'>,
    private readonly idDomain: string,
    private readonly verp: VerpAddresses | null = null,
  ) {}

  /** Builds the message for a job, or says why it is skipped. */
  async compose(job: EmailJob, jobId: string): Promise<Composed> {
    if (job.kind === 'confirm') return this.composeConfirmation(job.consentId, jobId);
    if (job.kind === 'manage-link') return this.composeManageLink(job.requestId, jobId);
    const subscriber = await subscribers.getSubscriber(this.db, job.subscriberId);
    if (!subscriber) return { skip: 'subscriber erased' };
    if (subscriber.status !== 'active') return { skip: `subscriber is ${subscriber.status}` };
    if (await this.isBlocked(subscriber.email)) return { skip: 'address suppressed' };
    const lang = toLang(subscriber.lang);
    const name = job.kind === 'welcome' ? 'welcome' : 'already-subscribed';
    // Sections the repeated request asked for and the subscriber does not have: the link pre-ticks them.
    const added = job.kind === 'already-subscribed' ? (job.topics ?? []).filter((t) => !subscriber.topics.includes(t)) : [];
    const preferencesUrl = this.links.preferences(subscriber.id, lang, subscriber.token_version);
    const rendered = this.renderer.render(name, lang, {
      topicNames: await this.topicNames(subscriber.topics, lang),
      newTopicNames: added.length > 0 ? await this.topicNames(added, lang) : '',
      preferencesUrl: added.length > 0 ? `${preferencesUrl}${preferencesUrl.includes('?') ? '&' : '?'}add=${added.join(',')}` : preferencesUrl,
      unsubscribeUrl: this.links.unsubscribe(subscriber.id, lang, subscriber.token_version),
    });
    return {
      send: {
        to: subscriber.email,
        ...rendered,
        messageId: `<${jobId}@${this.idDomain}>`,
        envelopeFrom: this.envelopeFrom(subscriber.id),
        headers: { 'Auto-Submitted': 'auto-generated' },
        listUnsubscribe: { url: this.links.unsubscribe(subscriber.id, 'pl', subscriber.token_version) },
      },
    };
  }

  private async composeConfirmation(consentId: number, jobId: string): Promise<Composed> {
    const consent = await subscribers.getConsentWithSubscriber(this.db, consentId);
    if (!consent) return { skip: 'subscription expired or erased' };
    // 'unsubscribed' too: a new request of someone who withdrew waits for this link (the row stays unsubscribed).
    if (consent.status === 'active' || consent.confirmed_at || consent.withdrawn_at) return { skip: `subscriber is ${consent.status}` };
    if (await this.isBlocked(consent.email)) return { skip: 'address suppressed' };
    const lang = toLang(consent.lang);
    const subscriber = await subscribers.getSubscriber(this.db, consent.subscriber_id);
    const topics = consent.requested_topics ?? subscriber?.topics ?? [];
    const rendered = this.renderer.render('confirm', lang, {
      topicNames: await this.topicNames(topics, lang),
      multipleTopics: topics.length > 1,
      confirmUrl: this.links.confirm(consentId, lang),
    });
    const envelopeFrom = this.envelopeFrom(consent.subscriber_id);
    return { send: { to: consent.email, ...rendered, messageId: `<${jobId}@${this.idDomain}>`, envelopeFrom, headers: { 'Auto-Submitted': 'auto-generated' } } };
  }

  /** The VERP envelope sender naming the subscriber, when BOUNCE_ADDRESS is set. */
  private envelopeFrom(subscriberId: number): string | undefined {
    return this.verp?.address({ kind: 'transactional', id: subscriberId });
  }

  /** The management link, to a subscriber of any status; resolving the request claims a slot of the cap. */
  private async composeManageLink(requestId: number, jobId: string): Promise<Composed> {
    const decision = await this.manageLinks.resolve(requestId);
    if ('skip' in decision) return decision;
    const subscriber = await subscribers.getSubscriber(this.db, decision.send.subscriberId);
    if (!subscriber) return { skip: 'subscriber erased' };
    if (await this.isBlocked(subscriber.email)) return { skip: 'address suppressed' };
    const lang = decision.send.lang;
    const rendered = this.renderer.render('manage-link', lang, {
      preferencesUrl: this.links.preferences(subscriber.id, lang, subscriber.token_version),
      unsubscribeUrl: this.links.unsubscribe(subscriber.id, lang, subscriber.token_version),
    });
    return {
      send: {
        to: subscriber.email,
        ...rendered,
        messageId: `<${jobId}@${this.idDomain}>`,
        headers: { 'Auto-Submitted': 'auto-generated' },
        listUnsubscribe: { url: this.links.unsubscribe(subscriber.id, 'pl', subscriber.token_version) },
      },
    };
  }

  private async isBlocked(email: string): Promise<boolean> {
    const suppression = await getSuppression(this.db, hashEmail(email));
    return suppression !== null && suppression.reason !== 'erased';
  }

  private async topicNames(slugs: string[], lang: Lang): Promise<string> {
    const topics = await listTopics(this.db);
    return topics
      .filter((t) => slugs.includes(t.slug))
      .map((t) => topicDisplayName(t, lang))
      .join(', ');
  }
}
