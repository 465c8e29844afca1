import { loadNamedQueries } from './named-queries.ts';
import type { Db } from './pool.ts';

const sql = loadNamedQueries('audit', ['insert-audit-entry', 'list-audit-entries']);

/** One entry of the audit log. */
export interface AuditRow {
  id: number;
  at: Date;
  actor: string;
  action: string;
  object_type: string | null;
  object_id: string | null;
  detail: Record<string, unknown>;
}

/** What is recorded about an action. */
export interface AuditEntry {
  actor: string;
  operatorId: number | null;
  action: string;
  objectType?: string | null;
  objectId?: string | null;
  detail?: Record<string, unknown>;
}

/** Appends an entry. */
export async function insertAuditEntry(db: Db, e: AuditEntry): Promise<AuditRow> {
  const params = [e.actor, e.operatorId, e.action, e.objectType ?? null, e.objectId ?? null, JSON.stringify(e.detail ?? {})];
  return (await db.query<AuditRow>(sql['insert-audit-entry'], params)).rows[0]!;
}

/** Newest entries before `beforeId`, optionally of one object. */
export async function listAuditEntries(db: Db, limit: number, beforeId: number, object: { type?: string; id?: string } = {}): Promise<AuditRow[]> {
  return (await db.query<AuditRow>(sql['list-audit-entries'], [limit, beforeId, object.type ?? null, object.id ?? null])).rows;
}
