import { loadNamedQueries } from './named-queries.ts';
import type { Db } from './pool.ts';
import type { SubscriberRow } from './subscriber-queries.ts';

const sql = loadNamedQueries('operations', ['export-subscribers-page', 'reset-failed-deliveries']);

/** A subscriber as exported by the CLI. */
export interface ExportedSubscriber extends SubscriberRow {
  consent_source: string | null;
}

/** One page of subscribers with ids above `afterId`. */
export async function exportSubscribersPage(db: Db, afterId: number, limit: number): Promise<ExportedSubscriber[]> {
  return (await db.query<ExportedSubscriber>(sql['export-subscribers-page'], [afterId, limit])).rows;
}

/** Puts an article's failed deliveries back to pending; returns their ids in ascending order. */
export async function resetFailedDeliveries(db: Db, articleId: number): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>(sql['reset-failed-deliveries'], [articleId]);
  return rows.map((r) => r.id).sort((a, b) => a - b);
}
