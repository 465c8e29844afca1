import type pg from 'pg';
import { ExpiredLinkError, InvalidLinkError, NoTopicChosenError, UnknownTopicError } from './errors.ts';
import { Batcher } from '../infra/batcher.ts';
import { isRefusedStatement, withTransaction } from '../db/pool.ts';
import * as subscribers from '../db/subscriber-queries.ts';
import type { SubscriptionRequestInput, SubscriptionRequestOutcome } from '../db/subscriber-queries.ts';
import { deleteErasureSuppression, upsertSuppression } from '../db/suppression-queries.ts';
import { listTopics } from '../db/topic-queries.ts';
import { safeConsentSource } from './consent-source.ts';
import { setFrequencies, setFrequency, type Frequency } from '../db/digest-queries.ts';
import { hashEmail, normalizeEmail } from './email-address.ts';
import type { TokenPurpose, TokenSigner } from './tokens.ts';

/** Version of the consent text shown next to the checkbox; recorded with every consent (2026-12-02: controller named from the configuration, issue 15). */
export const CONSENT_TEXT_VERSION = '2026-12-02';

/** The e-mail work that subscription changes cause; implemented over the job queues. */
export interface SubscriptionMailJobs {
  queueConfirmation(subscriberId: number, consentId: number, slot: ConfirmationSlot): Promise<void>;
  /** `topics`: the sections the repeated request named (topic slugs), pre-ticked by the e-mail's link */
  queueAlreadySubscribed(subscriberId: number, slot: ConfirmationSlot, topics?: string[]): Promise<void>;
  queueWelcome(subscriberId: number, consentId: number): Promise<void>;
  /** Removes finished and failed e-mail jobs that name the subscriber or one of its consents (erasure). */
  forgetSubscriber(subscriberId: number, consentIds: number[]): Promise<void>;
}

/** One slot of the daily cap on confirmation-class e-mails (makes job ids deterministic). */
export interface ConfirmationSlot {
  count: number;
  windowStart: number;
}

/** How long the list of topic slugs is reused before it is read again. */
const TOPIC_CACHE_MS = 2_000;

/**
 * Subscription requests written together (group commit). Four calls at once leave the rest of the
 * pool (10 by default) to the pages and the admin API; 64 requests keep one transaction short.
 */
const REQUEST_BATCH = { maxBatch: 64, maxInFlight: 4 };

/** A subscription request from the form or the JSON API. */
export interface SubscribeRequest {
  email: string;
  topics?: string[];
  lang: 'pl' | 'en';
  source: string;
  ip: string | null;
  userAgent: string | null;
  /** immediate, daily or weekly; when absent a new address gets immediate and a known one keeps its own */
  frequency?: Frequency;
}

/** Settings of the subscription lifecycle. */
export interface SubscriptionSettings {
  confirmationsPerDay: number;
  pendingTtlDays: number;
  welcomeEmail: boolean;
}

/** A subscriber as the pages and the API see it. */
export type Subscriber = subscribers.SubscriberRow;

/** Subscriber lifecycle: double opt-in, preferences, unsubscribe, erasure, export. */
export class SubscriptionService {
  private topicCache: { slugs: Promise<string[]>; until: number } | null = null;
  private readonly requests = new Batcher((inputs: SubscriptionRequestInput[]) => this.writeRequests(inputs), REQUEST_BATCH);

  constructor(
    private readonly pool: pg.Pool,
    private readonly signer: TokenSigner,
    private readonly jobs: SubscriptionMailJobs,
    private readonly settings: SubscriptionSettings,
  ) {}

  /**
   * Records a subscription request and queues the right e-mail. The caller answers the same way
   * whatever happened here, so nobody learns whether an address is known.
   */
  async subscribe(request: SubscribeRequest): Promise<void> {
    try {
      await this.subscribeOnce(request);
    } catch (err) {
      // 23503: a cached topic was deleted meanwhile; the transaction rolled back, so try once with fresh topics.
      if ((err as { code?: string }).code !== '23503') throw err;
      this.topicCache = null;
      await this.subscribeOnce(request);
    }
  }

  private async subscribeOnce(request: SubscribeRequest): Promise<void> {
    const topics = await this.resolveTopics(request.topics);
    const email = normalizeEmail(request.email);
    const outcome = await this.requests.submit({
      email,
      lang: request.lang,
      topics,
      emailHash: hashEmail(email),
      // the last guard of every path (form, JSON API, embed): only a safe charset is ever recorded
      source: safeConsentSource(request.source, 'unknown'),
      ip: request.ip,
      userAgent: request.userAgent?.slice(0, 512) ?? null,
    });
    // Only an opt-in in progress takes the requested frequency: a stranger never changes an active subscription.
    if (request.frequency && outcome.kind === 'confirm') await setFrequencies(this.pool, [outcome.subscriberId], [request.frequency], ['pending']);
    if (!outcome.slot) return;
    if (outcome.kind === 'already') await this.jobs.queueAlreadySubscribed(outcome.subscriberId, outcome.slot, request.topics ? topics : undefined);
    else await this.jobs.queueConfirmation(outcome.subscriberId, outcome.consentId!, outcome.slot);
  }

  /**
   * Writes the requests that arrived together in one call and one transaction. When PostgreSQL refused
   * that call (so none of it was written: a deleted topic, a deadlock) each request is written alone,
   * so one bad request fails only itself. A lost connection fails them all: what it did is unknown.
   */
  private async writeRequests(inputs: SubscriptionRequestInput[]): Promise<PromiseSettledResult<SubscriptionRequestOutcome>[]> {
    const terms = { textVersion: CONSENT_TEXT_VERSION, cap: this.settings.confirmationsPerDay };
    const writeAlone = (input: SubscriptionRequestInput) => subscribers.requestSubscription(this.pool, input, terms);
    if (inputs.length === 1) return Promise.allSettled(inputs.map(writeAlone));
    try {
      const outcomes = await subscribers.requestSubscriptions(this.pool, inputs, terms);
      return outcomes.map((value) => ({ status: 'fulfilled', value }));
    } catch (err) {
      if (!isRefusedStatement(err)) throw err;
      return Promise.allSettled(inputs.map(writeAlone));
    }
  }

  /**
   * Validates topic slugs (unknown → UnknownTopicError); none given means every topic. The slugs are cached for
   * TOPIC_CACHE_MS (they change rarely; the form is a hot path); an unknown slug re-reads them first.
   */
  async resolveTopics(requested: string[] | undefined): Promise<string[]> {
    let known = await this.knownTopics(false);
    if (requested === undefined) return known;
    const unique = [...new Set(requested)];
    if (unique.some((slug) => !known.includes(slug))) known = await this.knownTopics(true);
    const unknown = unique.filter((slug) => !known.includes(slug));
    if (unknown.length > 0) throw new UnknownTopicError(unknown, 'Unknown topic.');
    if (unique.length === 0) throw new NoTopicChosenError();
    return unique;
  }

  private knownTopics(fresh: boolean): Promise<string[]> {
    if (fresh || !this.topicCache || this.topicCache.until < Date.now()) {
      // Callers that miss the cache together share one read (a burst of requests makes one query).
      const read = listTopics(this.pool).then((rows) => rows.map((t) => t.slug));
      this.topicCache = { slugs: read, until: Date.now() + TOPIC_CACHE_MS };
      read.catch(() => {
        if (this.topicCache?.slugs === read) this.topicCache = null;
      });
    }
    return this.topicCache.slugs;
  }

  /** Completes the double opt-in for a confirmation token; idempotent for an already confirmed one. */
  async confirm(token: string, ip: string | null): Promise<{ subscriberId: number; alreadyConfirmed: boolean }> {
    const consentId = this.verify('confirm', token);
    const outcome = await withTransaction(this.pool, async (tx) => {
      const row = await subscribers.getConsentForConfirmation(tx, consentId);
      // A consent withdrawn since (an unsubscribe after this request) never confirms; a newer one may.
      if (!row || row.withdrawn_at) throw new InvalidLinkError();
      if (row.status === 'active') return { subscriberId: row.subscriber_id, alreadyConfirmed: true };
      // Someone who unsubscribed gets back exactly what this consent asked for, not an earlier choice.
      if (row.status === 'unsubscribed' && row.requested_topics) {
        await subscribers.replaceTopics(tx, row.subscriber_id, row.requested_topics);
        await subscribers.setLanguage(tx, row.subscriber_id, row.requested_lang ?? row.lang);
      }
      await subscribers.activateSubscriber(tx, row.subscriber_id);
      await subscribers.confirmConsent(tx, consentId, ip);
      await deleteErasureSuppression(tx, hashEmail(row.email));
      return { subscriberId: row.subscriber_id, alreadyConfirmed: false };
    });
    if (!outcome.alreadyConfirmed && this.settings.welcomeEmail) {
      await this.jobs.queueWelcome(outcome.subscriberId, consentId);
    }
    return outcome;
  }

  /** Checks a confirmation token without changing anything (the GET page). */
  checkConfirmToken(token: string): void {
    this.verify('confirm', token);
  }

  /** The subscriber a manage or unsubscribe token belongs to; 404-like null when erased. */
  async subscriberForToken(purpose: 'manage' | 'unsubscribe', token: string): Promise<Subscriber | null> {
    return subscribers.getSubscriber(this.pool, await this.verifySubscriberToken(purpose, token));
  }

  /** Updates topics and language from the preferences page. */
  async updatePreferences(token: string, change: { topics: string[]; lang: 'pl' | 'en'; frequency?: Frequency }): Promise<Subscriber> {
    const id = await this.verifySubscriberToken('manage', token);
    const topics = await this.resolveTopics(change.topics);
    await withTransaction(this.pool, async (tx) => {
      const current = await subscribers.getSubscriber(tx, id);
      if (!current) throw new InvalidLinkError();
      await subscribers.replaceTopics(tx, id, topics);
      await subscribers.setLanguage(tx, id, change.lang);
      if (change.frequency) await setFrequency(tx, id, change.frequency);
    });
    return (await subscribers.getSubscriber(this.pool, id))!;
  }

  /**
   * Ends a subscription (RFC 8058 one-click, the unsubscribe page or the preferences page).
   * Idempotent: an already ended or erased subscription is not an error.
   */
  async unsubscribe(purpose: 'manage' | 'unsubscribe', token: string, method: string): Promise<void> {
    const id = await this.verifySubscriberToken(purpose, token);
    await this.unsubscribeById(id, method);
  }

  /** Ends a subscription by id, recording how consent was withdrawn. */
  async unsubscribeById(id: number, method: string): Promise<void> {
    await withTransaction(this.pool, async (tx) => {
      if (await subscribers.markUnsubscribed(tx, id)) await subscribers.withdrawConsents(tx, id, method);
    });
  }

  /** Erases a subscriber found by manage token; see eraseById. */
  async eraseByToken(token: string): Promise<void> {
    await this.eraseById(await this.verifySubscriberToken('manage', token));
  }

  /**
   * GDPR art. 17 erasure: deletes the subscriber, topics and consent records and the ledger's error
   * texts of its deliveries, keeping only a hashed suppression entry so the address is mailed again only
   * after it opts in anew; then removes the finished jobs that name it. False when unknown.
   */
  async eraseById(id: number): Promise<boolean> {
    const consentIds = await withTransaction(this.pool, async (tx) => {
      const ids = (await subscribers.listConsents(tx, id)).map((c) => Number(c.id));
      await subscribers.clearSubscriberDeliveryErrors(tx, id);
      const email = await subscribers.deleteSubscriber(tx, id);
      if (email === null) return null;
      await upsertSuppression(tx, hashEmail(email), 'erased');
      return ids;
    });
    if (consentIds === null) return false;
    await this.jobs.forgetSubscriber(id, consentIds);
    return true;
  }

  /** GDPR art. 15/20: everything stored about the token's subscriber. */
  async exportData(token: string): Promise<Record<string, unknown>> {
    const id = await this.verifySubscriberToken('manage', token);
    const subscriber = await subscribers.getSubscriber(this.pool, id);
    if (!subscriber) throw new InvalidLinkError();
    const consents = await subscribers.listConsents(this.pool, id);
    return { subscriber, consents };
  }

  /** Admin search by address (exact, or partial when the text has no "@"). */
  async find(emailText: string): Promise<Subscriber[]> {
    const text = normalizeEmail(emailText);
    return subscribers.findSubscribersByEmail(this.pool, text, !text.includes('@'));
  }

  /** Deletes opt-ins left unconfirmed for longer than the TTL (and spent mailbox caps); returns how many opt-ins. */
  async expirePending(): Promise<number> {
    await subscribers.deleteStaleConfirmationCaps(this.pool);
    return subscribers.deleteExpiredPending(this.pool, this.settings.pendingTtlDays);
  }

  /** The current version of a subscriber's link tokens (0 when unknown), for links made now. */
  async tokenVersionOf(id: number): Promise<number> {
    return (await subscribers.getTokenVersion(this.pool, id)) ?? 0;
  }

  /**
   * Voids every manage and unsubscribe link already sent to a subscriber (an operator's action, e.g.
   * when a forwarded e-mail exposed them); later e-mails carry new links. False when unknown.
   */
  async revokeLinks(id: number): Promise<boolean> {
    return (await subscribers.revokeLinks(this.pool, id)) !== null;
  }

  /** Verifies a manage or unsubscribe token against its subscriber's current token version. */
  private async verifySubscriberToken(purpose: 'manage' | 'unsubscribe', token: string): Promise<number> {
    const id = this.signer.subjectOf(token);
    // An erased subscriber has no version: its old links verify as version 0 and then find nobody, as before.
    const version = id === null ? 0 : await this.tokenVersionOf(id);
    return this.verify(purpose, token, version);
  }

  private verify(purpose: TokenPurpose, token: string, version = 0): number {
    const check = this.signer.verify(purpose, token, Date.now(), version);
    if (!check.ok) throw check.reason === 'expired' ? new ExpiredLinkError() : new InvalidLinkError();
    return check.claims.subjectId;
  }
}
