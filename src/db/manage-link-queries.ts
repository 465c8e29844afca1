import { loadNamedQueries } from './named-queries.ts';
import type { Db } from './pool.ts';

const sql = loadNamedQueries('manage-links', [
  'insert-manage-link-request',
  'lock-manage-link-request',
  'find-subscriber-id-by-email',
  'claim-confirmation-slot',
  'resolve-manage-link-request',
  'delete-old-manage-link-requests',
]);

/** What became of a management-link request. */
export type ManageLinkOutcome = 'send' | 'unknown' | 'capped' | 'suppressed';

/** A management-link request row. */
export interface ManageLinkRequestRow {
  id: number;
  email: string | null;
  lang: string;
  outcome: ManageLinkOutcome | null;
  subscriber_id: number | null;
}

/** Records a request for an address or a subscriber id; returns its id. */
export async function insertManageLinkRequest(db: Db, target: { email: string } | { subscriberId: number }, lang: string): Promise<number> {
  const email = 'email' in target ? target.email : null;
  const subscriberId = 'subscriberId' in target ? target.subscriberId : null;
  const { rows } = await db.query<{ id: string }>(sql['insert-manage-link-request'], [email, lang, subscriberId]);
  return Number(rows[0]!.id);
}

/** The request, locked for the transaction; null when gone. */
export async function lockManageLinkRequest(db: Db, id: number): Promise<ManageLinkRequestRow | null> {
  const { rows } = await db.query<ManageLinkRequestRow & { id: string; subscriber_id: string | null }>(sql['lock-manage-link-request'], [id]);
  const row = rows[0];
  return row ? { ...row, id: Number(row.id), subscriber_id: row.subscriber_id === null ? null : Number(row.subscriber_id) } : null;
}

/** The subscriber id of an address, or null. */
export async function findSubscriberIdByEmail(db: Db, email: string): Promise<number | null> {
  const { rows } = await db.query<{ id: string }>(sql['find-subscriber-id-by-email'], [email]);
  return rows[0] ? Number(rows[0].id) : null;
}

/** Claims one slot of the per-address cap; false when it is reached. */
export async function claimConfirmationSlot(db: Db, subscriberId: number, cap: number): Promise<boolean> {
  const { rowCount } = await db.query(sql['claim-confirmation-slot'], [subscriberId, cap]);
  return rowCount === 1;
}

/** Stores the outcome of a request and clears its address. */
export async function resolveManageLinkRequest(db: Db, id: number, outcome: ManageLinkOutcome, subscriberId: number | null): Promise<void> {
  await db.query(sql['resolve-manage-link-request'], [id, outcome, subscriberId]);
}

/** Deletes requests older than `hours`; returns how many. */
export async function deleteOldManageLinkRequests(db: Db, hours: number): Promise<number> {
  const { rows } = await db.query<{ deleted: number }>(sql['delete-old-manage-link-requests'], [hours]);
  return rows[0]!.deleted;
}
