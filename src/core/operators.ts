import { createHash, randomBytes } from 'node:crypto';
import type pg from 'pg';
import * as q from '../db/operator-queries.ts';
import type { OperatorRow, Role, SessionOperator } from '../db/operator-queries.ts';
import { isUniqueViolation } from '../db/pool.ts';
import { AlreadyExistsError } from './errors.ts';
import { normalizeEmail } from './email-address.ts';
import { hashPassword, passwordProblem, verifyNothing, verifyPassword } from './passwords.ts';

export type { OperatorRow, Role, SessionOperator };

/** Roles, least to most powerful. */
export const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];

/** How long a set-password link stays valid. */
export const PASSWORD_LINK_TTL_SECONDS = 24 * 3600;

/** Session lifetimes: idle (since the last request) and absolute (since sign-in). */
export interface SessionSettings {
  idleSeconds: number;
  absoluteSeconds: number;
}

/** True when `role` includes everything `needed` may do. */
export function roleAllows(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

/** SHA-256 (hex) of a secret token: only this is stored, so a database leak yields no usable link or session. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

const newToken = () => randomBytes(32).toString('base64url');

/** Operator accounts, their set-password links and their server-side sessions. */
export class OperatorService {
  constructor(
    private readonly pool: pg.Pool,
    private readonly sessions: SessionSettings,
  ) {}

  /** Creates an account without a password; returns it with a one-time set-password token (24 h). */
  async add(email: string, role: Role): Promise<{ operator: OperatorRow; token: string }> {
    try {
      const operator = await q.insertOperator(this.pool, normalizeEmail(email), role);
      return { operator, token: await this.newPasswordToken(operator.id) };
    } catch (err) {
      if (isUniqueViolation(err)) throw new AlreadyExistsError('An operator with this address exists.');
      throw err;
    }
  }

  /** A new one-time set-password token for an existing, enabled account (a forgotten password); null when none. */
  async resetLink(email: string): Promise<string | null> {
    const operator = await q.getOperatorByEmail(this.pool, normalizeEmail(email));
    return operator && !operator.disabled_at ? this.newPasswordToken(operator.id) : null;
  }

  private async newPasswordToken(operatorId: number): Promise<string> {
    const token = newToken();
    await q.insertPasswordToken(this.pool, hashToken(token), operatorId, PASSWORD_LINK_TTL_SECONDS);
    return token;
  }

  /** Every account. */
  async list(): Promise<OperatorRow[]> {
    return q.listOperators(this.pool);
  }

  /** Disables an account and ends its sessions at once; false when unknown. */
  async disable(email: string): Promise<boolean> {
    return q.disableOperator(this.pool, normalizeEmail(email));
  }

  /** True while a set-password link can be used. */
  async passwordLinkUsable(token: string): Promise<boolean> {
    return q.checkPasswordToken(this.pool, hashToken(token));
  }

  /**
   * Sets the password through a one-time link. Returns 'ok', the password's problem, or 'invalid_link'
   * (used, expired, unknown or the account disabled). Ends the account's other sessions.
   */
  async setPassword(token: string, password: string, emailHint?: string): Promise<'ok' | 'invalid_link' | 'short' | 'long' | 'common'> {
    const problem = passwordProblem(password, emailHint);
    if (problem) return problem;
    const done = await q.usePasswordToken(this.pool, hashToken(token), await hashPassword(password));
    return done ? 'ok' : 'invalid_link';
  }

  /** The enabled operator with this address and password, or null (equal effort either way). */
  async verify(email: string, password: string): Promise<{ id: number; email: string; role: Role; totpSecret: string | null } | null> {
    const operator = await q.getOperatorByEmail(this.pool, normalizeEmail(email));
    if (!operator?.password_hash || operator.disabled_at) return verifyNothing(password).then(() => null);
    if (!(await verifyPassword(password, operator.password_hash))) return null;
    return { id: operator.id, email: operator.email, role: operator.role, totpSecret: operator.totp_secret };
  }

  /** Starts a new session (a new id at every sign-in); returns the cookie value. */
  async startSession(operatorId: number, userAgent: string | null): Promise<string> {
    const sessionId = newToken();
    await q.insertSession(this.pool, hashToken(sessionId), operatorId, newToken(), userAgent?.slice(0, 300) ?? null);
    return sessionId;
  }

  /** The operator of a live session, refreshing its idle timer; null when it ended or never existed. */
  async session(sessionId: string): Promise<SessionOperator | null> {
    return q.touchSession(this.pool, hashToken(sessionId), this.sessions.idleSeconds, this.sessions.absoluteSeconds);
  }

  /** Ends a session. */
  async endSession(sessionId: string): Promise<void> {
    await q.deleteSession(this.pool, hashToken(sessionId));
  }

  /** Deletes timed-out sessions (they are refused anyway; this keeps the table small). */
  async purgeStaleSessions(): Promise<number> {
    return q.deleteStaleSessions(this.pool, this.sessions.idleSeconds, this.sessions.absoluteSeconds);
  }
}
