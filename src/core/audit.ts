import type { Db } from '../db/pool.ts';
import { insertAuditEntry, listAuditEntries, type AuditRow } from '../db/audit-queries.ts';
import type { Role } from '../db/operator-queries.ts';

export type { AuditRow };

/** Who acts: a named operator, or the break-glass ADMIN_TOKEN (label "admin token"). */
export interface Actor {
  label: string;
  operatorId: number | null;
  role: Role;
}

/** The actor of requests authenticated with ADMIN_TOKEN (Basic on pages, Bearer on the API). */
export const ADMIN_TOKEN_ACTOR: Actor = { label: 'admin token', operatorId: null, role: 'admin' };

/** The object an action was done on. */
export interface AuditObject {
  type: string;
  id: string | number;
}

/** The append-only audit log: who did what, when, on which object. Never a subscriber's address. */
export class AuditLog {
  constructor(private readonly db: Db) {}

  /** Records an action. */
  async record(actor: Actor, action: string, object: AuditObject | null, detail: Record<string, unknown> = {}): Promise<AuditRow> {
    return insertAuditEntry(this.db, { actor: actor.label, operatorId: actor.operatorId, action, objectType: object?.type ?? null, objectId: object ? String(object.id) : null, detail });
  }

  /** The newest entries (before id `before` when paging), optionally of one object. */
  async list(limit: number, before = Number.MAX_SAFE_INTEGER, object: { type?: string; id?: string } = {}): Promise<AuditRow[]> {
    return listAuditEntries(this.db, limit, before, object);
  }
}
