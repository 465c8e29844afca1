import { loadNamedQueries } from './named-queries.ts';
import type { Db } from './pool.ts';

const sql = loadNamedQueries('subscribers', [
  'replace-topics',
  'get-consent-for-confirmation',
  'activate-subscriber',
  'confirm-consent',
  'get-subscriber',
  'find-subscribers-by-email',
  'set-language',
  'unsubscribe',
  'withdraw-consents',
  'get-token-version',
  'revoke-links',
  'clear-subscriber-delivery-errors',
  'delete-subscriber',
  'list-consents',
  'delete-expired-pending',
  'delete-stale-confirmation-caps',
  'upsert-imported-subscribers',
  'insert-import-consents',
  'replace-topics-batch',
  'get-consent-with-subscriber',
  'request-subscription',
  'request-subscriptions',
]);

/** Lifecycle state of a subscriber. */
export type SubscriberStatus = 'pending' | 'active' | 'unsubscribed';

/** A subscriber row with its topics. */
export interface SubscriberRow {
  id: number;
  email: string;
  status: SubscriberStatus;
  lang: string;
  /** immediate, daily or weekly (migration 0009) */
  frequency: 'immediate' | 'daily' | 'weekly';
  created_at: Date;
  confirmed_at: Date | null;
  unsubscribed_at: Date | null;
  topics: string[];
  /** version of its link tokens (get-subscriber only; raised to void links already sent) */
  token_version?: number;
}

/** Replaces a subscriber's topics. */
export async function replaceTopics(db: Db, subscriberId: number, topics: string[]): Promise<void> {
  await db.query(sql['replace-topics'], [subscriberId, topics]);
}

/** A consent joined with its subscriber. */
export interface ConsentWithSubscriber {
  consent_id: number;
  confirmed_at: Date | null;
  withdrawn_at: Date | null;
  subscriber_id: number;
  email: string;
  status: SubscriberStatus;
  lang: string;
  /** topics and language the consent asked for (null on records older than migration 0006) */
  requested_topics: string[] | null;
  requested_lang: string | null;
}

/** A consent with its subscriber, locked for confirmation (inside a transaction). */
export async function getConsentForConfirmation(db: Db, consentId: number): Promise<ConsentWithSubscriber | null> {
  return (await db.query<ConsentWithSubscriber>(sql['get-consent-for-confirmation'], [consentId])).rows[0] ?? null;
}

/** A consent with its subscriber, without locking. */
export async function getConsentWithSubscriber(db: Db, consentId: number): Promise<ConsentWithSubscriber | null> {
  return (await db.query<ConsentWithSubscriber>(sql['get-consent-with-subscriber'], [consentId])).rows[0] ?? null;
}

/** Marks a subscriber active (double opt-in complete). */
export async function activateSubscriber(db: Db, subscriberId: number): Promise<void> {
  await db.query(sql['activate-subscriber'], [subscriberId]);
}

/** Stamps a consent as confirmed from an IP. */
export async function confirmConsent(db: Db, consentId: number, ip: string | null): Promise<void> {
  await db.query(sql['confirm-consent'], [consentId, ip]);
}

/** One subscriber with topics, or null. */
export async function getSubscriber(db: Db, id: number): Promise<SubscriberRow | null> {
  return (await db.query<SubscriberRow>(sql['get-subscriber'], [id])).rows[0] ?? null;
}

/** Subscribers whose address equals (or, with `partial`, contains) the given text. */
export async function findSubscribersByEmail(db: Db, email: string, partial: boolean): Promise<SubscriberRow[]> {
  return (await db.query<SubscriberRow>(sql['find-subscribers-by-email'], [email, partial])).rows;
}

/** Changes a subscriber's language. */
export async function setLanguage(db: Db, id: number, lang: string): Promise<void> {
  await db.query(sql['set-language'], [id, lang]);
}

/** Ends a subscription; false when it had already ended. */
export async function markUnsubscribed(db: Db, id: number): Promise<boolean> {
  return ((await db.query(sql['unsubscribe'], [id])).rowCount ?? 0) > 0;
}

/** Marks open consents withdrawn with the method used. */
export async function withdrawConsents(db: Db, id: number, method: string): Promise<void> {
  await db.query(sql['withdraw-consents'], [id, method]);
}

/** A subscriber's link token version, or null when there is no such subscriber. */
export async function getTokenVersion(db: Db, id: number): Promise<number | null> {
  return (await db.query<{ token_version: number }>(sql['get-token-version'], [id])).rows[0]?.token_version ?? null;
}

/** Raises a subscriber's token version; returns the new one, or null for an unknown id. */
export async function revokeLinks(db: Db, id: number): Promise<number | null> {
  return (await db.query<{ token_version: number }>(sql['revoke-links'], [id])).rows[0]?.token_version ?? null;
}

/** Clears the error texts of a subscriber's deliveries (erasure). */
export async function clearSubscriberDeliveryErrors(db: Db, id: number): Promise<void> {
  await db.query(sql['clear-subscriber-delivery-errors'], [id]);
}

/** Deletes a subscriber and everything attached; returns the address or null. */
export async function deleteSubscriber(db: Db, id: number): Promise<string | null> {
  return (await db.query<{ email: string }>(sql['delete-subscriber'], [id])).rows[0]?.email ?? null;
}

/** Every consent record of a subscriber. */
export async function listConsents(db: Db, id: number) {
  return (await db.query(sql['list-consents'], [id])).rows as Record<string, unknown>[];
}

/** Deletes unconfirmed subscriptions older than `days`; returns how many. */
export async function deleteExpiredPending(db: Db, days: number): Promise<number> {
  return (await db.query<{ deleted: number }>(sql['delete-expired-pending'], [days])).rows[0]?.deleted ?? 0;
}

/** Deletes per-mailbox confirmation caps whose window has passed. */
export async function deleteStaleConfirmationCaps(db: Db): Promise<void> {
  await db.query(sql['delete-stale-confirmation-caps']);
}

/** Batch upsert of imported subscribers (unique addresses); returns ids and whether each was new. */
export async function upsertImportedSubscribers(db: Db, emails: string[], langs: string[]) {
  return (await db.query<{ id: number; email: string; inserted: boolean }>(sql['upsert-imported-subscribers'], [emails, langs])).rows;
}

/** Confirmed consent records for imported subscribers. */
export async function insertImportConsents(db: Db, ids: number[], sources: string[], textVersion: string): Promise<void> {
  await db.query(sql['insert-import-consents'], [ids, sources, textVersion]);
}

/** Sets the topics of many subscribers in one statement. */
export async function replaceTopicsBatch(db: Db, pairIds: number[], pairSlugs: string[], allIds: number[]): Promise<void> {
  await db.query(sql['replace-topics-batch'], [pairIds, pairSlugs, allIds]);
}

/** What a subscription request did: which e-mail it calls for, and the claimed slot (null: send none). */
export interface SubscriptionRequestOutcome {
  subscriberId: number;
  kind: 'confirm' | 'already';
  consentId: number | null;
  slot: { count: number; windowStart: number } | null;
}

/** One subscription request as the database function takes it (address normalised, topics resolved). */
export interface SubscriptionRequestInput {
  email: string;
  lang: string;
  topics: string[];
  emailHash: string;
  source: string;
  ip: string | null;
  userAgent: string | null;
}

/** What every request of one call shares: the consent text's version and the daily cap of confirmation e-mails. */
export interface SubscriptionRequestTerms {
  textVersion: string;
  cap: number;
}

interface OutcomeRow {
  subscriber_id: number;
  kind: 'confirm' | 'already';
  consent_id: number | null;
  slot_count: number | null;
  window_start: number | null;
}

function toOutcome(row: OutcomeRow): SubscriptionRequestOutcome {
  return {
    subscriberId: row.subscriber_id,
    kind: row.kind,
    consentId: row.consent_id,
    slot: row.slot_count === null || row.window_start === null ? null : { count: row.slot_count, windowStart: row.window_start },
  };
}

// Both run on every subscription: prepared once per connection (named), not parsed and planned per call.

/** Records a subscription request in one round trip (function powiadom_request_subscription). */
export async function requestSubscription(db: Db, input: SubscriptionRequestInput, terms: SubscriptionRequestTerms): Promise<SubscriptionRequestOutcome> {
  const { rows } = await db.query<OutcomeRow>({
    name: 'request-subscription',
    text: sql['request-subscription'],
    values: [input.email, input.lang, input.topics, input.source, terms.textVersion, input.ip, input.userAgent, input.emailHash, terms.cap],
  });
  return toOutcome(rows[0]!);
}

/** Records several requests in one round trip and one transaction, in order; one outcome per request. */
export async function requestSubscriptions(
  db: Db,
  inputs: SubscriptionRequestInput[],
  terms: SubscriptionRequestTerms,
): Promise<SubscriptionRequestOutcome[]> {
  const { rows } = await db.query<OutcomeRow>({
    name: 'request-subscriptions',
    text: sql['request-subscriptions'],
    values: [
      inputs.map((r) => r.email),
      inputs.map((r) => r.lang),
      inputs.map((r) => r.topics.join(',')),
      inputs.map((r) => r.source),
      terms.textVersion,
      inputs.map((r) => r.ip),
      inputs.map((r) => r.userAgent),
      inputs.map((r) => r.emailHash),
      terms.cap,
    ],
  });
  if (rows.length !== inputs.length) throw new Error(`request-subscriptions answered ${rows.length} rows for ${inputs.length} requests`);
  return rows.map(toOutcome);
}
