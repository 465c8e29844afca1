import { loadNamedQueries } from './named-queries.ts';
import type { Db } from './pool.ts';

const sql = loadNamedQueries('inbound', [
  'claim-inbound-message',
  'finish-inbound-message',
  'record-inbound-failure',
  'get-inbound-outcome',
  'count-soft-bounces',
  'get-delivery-recipient',
  'mark-delivery-bounced',
  'get-digest-delivery-recipient',
  'mark-digest-delivery-bounced',
  'find-subscriber-by-email',
  'get-subscriber-email',
  'inbound-stats',
  'record-mailbox-poll',
  'list-mailbox-status',
]);

/** Where an inbound message came from. */
export type InboundSource = 'imap' | 'ses' | 'mailgun' | 'postmark';

/** What kind of message it was. */
export type InboundKind = 'bounce' | 'complaint' | 'unsubscribe' | 'auto_reply' | 'unknown';

/** A subscriber and its address. */
export interface SubscriberAddress {
  id: number;
  email: string;
}

/** Claims a key inside the caller's transaction; false = already processed. */
export async function claimInboundMessage(db: Db, key: string, source: InboundSource, kind: InboundKind): Promise<boolean> {
  return ((await db.query(sql['claim-inbound-message'], [key, source, kind])).rowCount ?? 0) > 0;
}

/** Records the outcome of a claimed message. */
export async function finishInboundMessage(db: Db, key: string, outcome: string, emailHash: string | null, soft: boolean, detail: string | null): Promise<void> {
  await db.query(sql['finish-inbound-message'], [key, outcome, emailHash, soft, detail]);
}

/** Counts a failed attempt; returns the attempts so far (0 when the key was processed meanwhile). */
export async function recordInboundFailure(db: Db, key: string, source: InboundSource, detail: string): Promise<number> {
  return (await db.query<{ attempts: number }>(sql['record-inbound-failure'], [key, source, detail])).rows[0]?.attempts ?? 0;
}

/** The stored outcome of a key, or null. */
export async function getInboundOutcome(db: Db, key: string): Promise<string | null> {
  return (await db.query<{ outcome: string }>(sql['get-inbound-outcome'], [key])).rows[0]?.outcome ?? null;
}

/** Soft bounces of an address hash in the last `days` days. */
export async function countSoftBounces(db: Db, emailHash: string, days: number): Promise<number> {
  return (await db.query<{ n: number }>(sql['count-soft-bounces'], [emailHash, days])).rows[0]!.n;
}

/** Which ledger a delivery id belongs to: `deliveries` (notification) or `digest_deliveries` (digest). */
export type DeliveryLedger = 'notification' | 'digest';

const RECIPIENT_QUERY = { notification: 'get-delivery-recipient', digest: 'get-digest-delivery-recipient' } as const satisfies Record<DeliveryLedger, string>;
const BOUNCED_QUERY = { notification: 'mark-delivery-bounced', digest: 'mark-digest-delivery-bounced' } as const satisfies Record<DeliveryLedger, string>;

/** The subscriber and address of a notification or digest delivery, or null. */
export async function getDeliveryRecipient(db: Db, ledger: DeliveryLedger, deliveryId: number): Promise<(SubscriberAddress & { deliveryId: number }) | null> {
  const row = (await db.query<{ delivery_id: number; subscriber_id: number; email: string }>(sql[RECIPIENT_QUERY[ledger]], [deliveryId])).rows[0];
  return row ? { deliveryId: row.delivery_id, id: row.subscriber_id, email: row.email } : null;
}

/** Marks a notification or digest delivery failed after a bounce. */
export async function markDeliveryBounced(db: Db, ledger: DeliveryLedger, deliveryId: number, error: string): Promise<void> {
  await db.query(sql[BOUNCED_QUERY[ledger]], [deliveryId, error]);
}

/** The subscriber with this normalised address, or null. */
export async function findSubscriberByEmail(db: Db, email: string): Promise<SubscriberAddress | null> {
  return (await db.query<SubscriberAddress>(sql['find-subscriber-by-email'], [email])).rows[0] ?? null;
}

/** The address of a subscriber, or null. */
export async function getSubscriberEmail(db: Db, id: number): Promise<SubscriberAddress | null> {
  return (await db.query<SubscriberAddress>(sql['get-subscriber-email'], [id])).rows[0] ?? null;
}

/** Inbound messages of the last 24 hours by outcome. */
export async function inboundStats(db: Db): Promise<Record<string, number>> {
  const { rows } = await db.query<{ outcome: string; n: number }>(sql['inbound-stats']);
  return Object.fromEntries(rows.map((r) => [r.outcome, r.n]));
}

/** The last pass over a mailbox. */
export interface MailboxStatus {
  mailbox: string;
  last_poll_at: Date;
  last_ok_at: Date | null;
  last_error: string | null;
}

/** Records one pass over a mailbox. */
export async function recordMailboxPoll(db: Db, mailbox: string, ok: boolean, error: string | null): Promise<void> {
  await db.query(sql['record-mailbox-poll'], [mailbox, ok, error]);
}

/** Every mailbox's last pass. */
export async function listMailboxStatus(db: Db): Promise<MailboxStatus[]> {
  return (await db.query<MailboxStatus>(sql['list-mailbox-status'])).rows;
}
