import { loadNamedQueries } from './named-queries.ts';
import type { Db } from './pool.ts';

const sql = loadNamedQueries('console', ['subscriber-deliveries', 'article-failures-by-reason', 'list-sections', 'insert-section', 'update-section', 'set-section-archived', 'reorder-sections', 'record-mail-outcome', 'mail-outcomes-since', 'subscriber-changes', 'inbound-by-kind-since']);

/** One notification sent (or not) to a subscriber. */
export interface SubscriberDeliveryRow {
  article_id: number;
  title: string;
  status: string;
  attempts: number;
  last_error: string | null;
  created_at: Date;
  sent_at: Date | null;
  updated_at: Date;
}

/** A subscriber's newest `limit` deliveries. */
export async function listSubscriberDeliveries(db: Db, subscriberId: number, limit: number): Promise<SubscriberDeliveryRow[]> {
  return (await db.query<SubscriberDeliveryRow>(sql['subscriber-deliveries'], [subscriberId, limit])).rows;
}

/** Failed deliveries of an article sharing one error. */
export interface FailureGroupRow {
  reason: string;
  count: number;
  emails: string[] | null;
}

/** An article's failed deliveries grouped by error, biggest first. */
export async function listArticleFailures(db: Db, articleId: number): Promise<FailureGroupRow[]> {
  return (await db.query<FailureGroupRow>(sql['article-failures-by-reason'], [articleId])).rows;
}

/** A section as the console manages it. */
export interface SectionRow {
  slug: string;
  name: string;
  name_en: string | null;
  description: string | null;
  position: number | null;
  archived_at: Date | null;
  active: number;
}

/** What an operator sets on a section. */
export interface SectionInput {
  name: string;
  nameEn: string | null;
  description: string | null;
}

/** Every section with its active subscribers. */
export async function listSections(db: Db): Promise<SectionRow[]> {
  return (await db.query<SectionRow>(sql['list-sections'])).rows;
}

/** Adds a section at the end; throws 23505 when the slug exists. */
export async function insertSection(db: Db, slug: string, s: SectionInput): Promise<void> {
  await db.query(sql['insert-section'], [slug, s.name, s.nameEn, s.description]);
}

/** Renames a section; false when unknown. */
export async function updateSection(db: Db, slug: string, s: SectionInput): Promise<boolean> {
  return ((await db.query(sql['update-section'], [slug, s.name, s.nameEn, s.description])).rowCount ?? 0) > 0;
}

/** Archives or restores a section; false when unknown. */
export async function setSectionArchived(db: Db, slug: string, archived: boolean): Promise<boolean> {
  return ((await db.query(sql['set-section-archived'], [slug, archived])).rowCount ?? 0) > 0;
}

/** Numbers the sections in the given order. */
export async function reorderSections(db: Db, slugs: string[]): Promise<void> {
  await db.query(sql['reorder-sections'], [slugs]);
}

/** Counts `count` e-mails of a kind with an outcome in the current hour (mail_outcomes_hourly). */
export async function recordMailOutcome(db: Db, kind: string, outcome: 'sent' | 'failed' | 'deferred' | 'suppressed', count = 1): Promise<void> {
  await db.query(sql['record-mail-outcome'], [kind, outcome, count]);
}

/** A count per kind and outcome (e-mails, inbound messages). */
export interface KindOutcomeCount {
  kind: string;
  outcome: string;
  count: number;
}

/** E-mails by kind and outcome since a moment (from its hour on). */
export async function countMailOutcomesSince(db: Db, since: Date): Promise<KindOutcomeCount[]> {
  return (await db.query<KindOutcomeCount>(sql['mail-outcomes-since'], [since])).rows;
}

/** Subscribers' changes since today's start and since a week ago. */
export interface SubscriberChangesRow {
  new_today: number;
  new_week: number;
  confirmed_today: number;
  confirmed_week: number;
  unsubscribed_today: number;
  unsubscribed_week: number;
  erased_today: number;
  erased_week: number;
}

/** New, confirmed, unsubscribed and erased subscribers since `today` and since `week`. */
export async function countSubscriberChanges(db: Db, today: Date, week: Date): Promise<SubscriberChangesRow> {
  return (await db.query<SubscriberChangesRow>(sql['subscriber-changes'], [today, week])).rows[0]!;
}

/** Inbound messages by kind and outcome received since a moment. */
export async function countInboundSince(db: Db, since: Date): Promise<KindOutcomeCount[]> {
  return (await db.query<KindOutcomeCount>(sql['inbound-by-kind-since'], [since])).rows;
}
