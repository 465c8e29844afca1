import { loadNamedQueries } from './named-queries.ts';
import type { Role } from './operator-queries.ts';
import type { Db } from './pool.ts';

const sql = loadNamedQueries('operator-totp', [
  'get-totp-state',
  'set-pending-secret',
  'enable-totp',
  'claim-totp-step',
  'disable-totp',
  'get-operator-id-by-email',
  'replace-recovery-codes',
  'use-recovery-code',
  'count-recovery-codes',
  'insert-challenge',
  'get-challenge',
  'delete-challenge',
]);

/** An operator's second factor as stored (secrets encrypted). */
export interface TotpState {
  id: number;
  email: string;
  role: Role;
  password_hash: string | null;
  totp_secret: string | null;
  totp_pending_secret: string | null;
  totp_last_step: string | null;
  totp_enabled_at: Date | null;
}

/** The operator behind a sign-in challenge. */
export interface ChallengeOperator {
  id: number;
  email: string;
  role: Role;
}

const returned = (r: { rowCount: number | null }) => (r.rowCount ?? 0) > 0;

/** The second-factor state of an enabled operator, or null. */
export async function getTotpState(db: Db, operatorId: number): Promise<TotpState | null> {
  return (await db.query<TotpState>(sql['get-totp-state'], [operatorId])).rows[0] ?? null;
}

/** Stores the secret being set up; false when TOTP is already on. */
export async function setPendingSecret(db: Db, operatorId: number, encrypted: string): Promise<boolean> {
  return returned(await db.query(sql['set-pending-secret'], [operatorId, encrypted]));
}

/** Turns TOTP on with the pending secret, recording the confirming step; false when another request won. */
export async function enableTotp(db: Db, operatorId: number, pending: string, step: number): Promise<boolean> {
  return returned(await db.query(sql['enable-totp'], [operatorId, pending, step]));
}

/** Accepts a time step newer than every accepted one; false for a replayed or older code. */
export async function claimTotpStep(db: Db, operatorId: number, step: number): Promise<boolean> {
  return returned(await db.query(sql['claim-totp-step'], [operatorId, step]));
}

/** Turns TOTP off and drops its secrets and recovery codes; false when it was off. */
export async function disableTotp(db: Db, operatorId: number): Promise<boolean> {
  return returned(await db.query(sql['disable-totp'], [operatorId]));
}

/** An operator's id by normalised address, or null. */
export async function getOperatorIdByEmail(db: Db, email: string): Promise<number | null> {
  return (await db.query<{ id: number }>(sql['get-operator-id-by-email'], [email])).rows[0]?.id ?? null;
}

/** Replaces an operator's recovery codes (hashes). */
export async function replaceRecoveryCodes(db: Db, operatorId: number, hashes: string[]): Promise<void> {
  await db.query(sql['replace-recovery-codes'], [operatorId, hashes]);
}

/** Spends a recovery code; false when unknown or used. */
export async function useRecoveryCode(db: Db, operatorId: number, hash: string): Promise<boolean> {
  return returned(await db.query(sql['use-recovery-code'], [operatorId, hash]));
}

/** How many unused recovery codes an operator has. */
export async function countRecoveryCodes(db: Db, operatorId: number): Promise<number> {
  return (await db.query<{ left: number }>(sql['count-recovery-codes'], [operatorId])).rows[0]!.left;
}

/** Opens the second step of a sign-in. */
export async function insertChallenge(db: Db, idHash: string, operatorId: number): Promise<void> {
  await db.query(sql['insert-challenge'], [idHash, operatorId]);
}

/** The operator of a live challenge younger than `ttlSeconds`, or null. */
export async function getChallenge(db: Db, idHash: string, ttlSeconds: number): Promise<ChallengeOperator | null> {
  return (await db.query<ChallengeOperator>(sql['get-challenge'], [idHash, ttlSeconds])).rows[0] ?? null;
}

/** Ends a challenge and drops expired ones. */
export async function deleteChallenge(db: Db, idHash: string, ttlSeconds: number): Promise<void> {
  await db.query(sql['delete-challenge'], [idHash, ttlSeconds]);
}
