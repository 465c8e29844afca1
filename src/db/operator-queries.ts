import { loadNamedQueries } from './named-queries.ts';
import type { Db } from './pool.ts';

const sql = loadNamedQueries('operators', [
  'insert-operator',
  'list-operators',
  'get-operator-by-email',
  'disable-operator',
  'insert-password-token',
  'use-password-token',
  'check-password-token',
  'insert-session',
  'touch-session',
  'delete-session',
  'delete-stale-sessions',
]);

/** What an operator may do: viewer reads, operator acts on subscribers and articles, admin also manages. */
export type Role = 'viewer' | 'operator' | 'admin';

/** An operator account as listed (no secrets). */
export interface OperatorRow {
  id: number;
  email: string;
  role: Role;
  created_at: Date;
  password_set_at: Date | null;
  disabled_at: Date | null;
  totp: boolean;
}

/** An operator with the secrets needed to sign in. */
export interface OperatorCredentials {
  id: number;
  email: string;
  role: Role;
  password_hash: string | null;
  totp_secret: string | null;
  disabled_at: Date | null;
}

/** The operator behind a live session. */
export interface SessionOperator {
  id: number;
  email: string;
  role: Role;
  csrf_token: string;
}

/** Inserts an operator; throws 23505 when the address exists. */
export async function insertOperator(db: Db, email: string, role: Role): Promise<OperatorRow> {
  return (await db.query<OperatorRow>(sql['insert-operator'], [email, role])).rows[0]!;
}

/** Every operator. */
export async function listOperators(db: Db): Promise<OperatorRow[]> {
  return (await db.query<OperatorRow>(sql['list-operators'])).rows;
}

/** One operator with secrets, or null. */
export async function getOperatorByEmail(db: Db, email: string): Promise<OperatorCredentials | null> {
  return (await db.query<OperatorCredentials>(sql['get-operator-by-email'], [email])).rows[0] ?? null;
}

/** Disables an operator and ends their sessions; false when unknown. */
export async function disableOperator(db: Db, email: string): Promise<boolean> {
  return ((await db.query(sql['disable-operator'], [email])).rowCount ?? 0) > 0;
}

/** Stores a set-password token's hash. */
export async function insertPasswordToken(db: Db, tokenHash: string, operatorId: number, ttlSeconds: number): Promise<void> {
  await db.query(sql['insert-password-token'], [tokenHash, operatorId, ttlSeconds]);
}

/** Spends a set-password token and sets the password; the operator, or null when the link is not usable. */
export async function usePasswordToken(db: Db, tokenHash: string, passwordHash: string): Promise<{ id: number; email: string } | null> {
  return (await db.query<{ id: number; email: string }>(sql['use-password-token'], [tokenHash, passwordHash])).rows[0] ?? null;
}

/** True while a set-password token is usable. */
export async function checkPasswordToken(db: Db, tokenHash: string): Promise<boolean> {
  return (await db.query<{ usable: boolean }>(sql['check-password-token'], [tokenHash])).rows[0]!.usable;
}

/** Starts a session. */
export async function insertSession(db: Db, idHash: string, operatorId: number, csrfToken: string, userAgent: string | null): Promise<void> {
  await db.query(sql['insert-session'], [idHash, operatorId, csrfToken, userAgent]);
}

/** The live session's operator (refreshing its idle timer), or null when it ended. */
export async function touchSession(db: Db, idHash: string, idleSeconds: number, absoluteSeconds: number): Promise<SessionOperator | null> {
  return (await db.query<SessionOperator>(sql['touch-session'], [idHash, idleSeconds, absoluteSeconds])).rows[0] ?? null;
}

/** Ends a session. */
export async function deleteSession(db: Db, idHash: string): Promise<void> {
  await db.query(sql['delete-session'], [idHash]);
}

/** Removes timed-out sessions; returns how many. */
export async function deleteStaleSessions(db: Db, idleSeconds: number, absoluteSeconds: number): Promise<number> {
  return (await db.query(sql['delete-stale-sessions'], [idleSeconds, absoluteSeconds])).rowCount ?? 0;
}
