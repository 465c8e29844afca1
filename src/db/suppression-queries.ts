import { loadNamedQueries } from './named-queries.ts';
import type { Db } from './pool.ts';

const sql = loadNamedQueries('suppressions', [
  'upsert-suppression',
  'get-suppression',
  'delete-suppression',
  'delete-erasure-suppression',
  'list-suppressions',
  'filter-suppressed-hashes',
]);

/** Why an address must not be mailed. */
export type SuppressionReason = 'erased' | 'hard_bounce' | 'complaint' | 'manual';

/** A suppression entry; only the hash of the address is kept. */
export interface Suppression {
  email_hash: string;
  reason: SuppressionReason;
  note: string | null;
  created_at: Date;
}

/** Adds or replaces the suppression of an address hash. */
export async function upsertSuppression(db: Db, emailHash: string, reason: SuppressionReason, note: string | null = null): Promise<void> {
  await db.query(sql['upsert-suppression'], [emailHash, reason, note]);
}

/** The suppression of an address hash, or null. */
export async function getSuppression(db: Db, emailHash: string): Promise<Suppression | null> {
  return (await db.query<Suppression>(sql['get-suppression'], [emailHash])).rows[0] ?? null;
}

/** Removes a suppression; false when there was none. */
export async function deleteSuppression(db: Db, emailHash: string): Promise<boolean> {
  return ((await db.query(sql['delete-suppression'], [emailHash])).rowCount ?? 0) > 0;
}

/** Removes an erasure suppression only (bounces and complaints stay). */
export async function deleteErasureSuppression(db: Db, emailHash: string): Promise<void> {
  await db.query(sql['delete-erasure-suppression'], [emailHash]);
}

/** A page of suppressions, newest first. */
export async function listSuppressions(db: Db, limit: number, offset: number): Promise<Suppression[]> {
  return (await db.query<Suppression>(sql['list-suppressions'], [limit, offset])).rows;
}

/** The subset of the given address hashes that is suppressed. */
export async function filterSuppressedHashes(db: Db, hashes: string[]): Promise<Set<string>> {
  const { rows } = await db.query<{ email_hash: string }>(sql['filter-suppressed-hashes'], [hashes]);
  return new Set(rows.map((r) => r.email_hash));
}
