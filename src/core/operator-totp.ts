import { randomBytes } from 'node:crypto';
import type { Db } from '../db/pool.ts';
import * as q from '../db/operator-totp-queries.ts';
import type { ChallengeOperator } from '../db/operator-totp-queries.ts';
import { normalizeEmail } from './email-address.ts';
import { hashToken } from './operators.ts';
import { verifyPassword } from './passwords.ts';
import { matchTotpStep, newRecoveryCodes, newTotpSecret, normalizeRecoveryCode, openSecret, sealSecret, totpKey, totpUri } from './totp.ts';

export type { ChallengeOperator };

/** How long the second step of a sign-in stays open after the password passed. */
export const CHALLENGE_TTL_SECONDS = 300;

/** What an operator's account page shows about the second factor (never the active secret). */
export type TotpStatus = { state: 'off' } | { state: 'pending'; secret: string; uri: string } | { state: 'on'; since: Date; recoveryCodesLeft: number };

/** How a second-step code was accepted. */
export type SecondFactor = 'totp' | 'recovery-code';

/**
 * The operators' TOTP second factor: setting it up, confirming, turning it off, an admin's reset, and
 * the second step of a sign-in. Secrets are stored encrypted (key derived from SECRET) and shown only
 * while being set up; recovery codes only as SHA-256; a code's time step is accepted once.
 */
export class OperatorTotp {
  private readonly key: Buffer;

  constructor(
    private readonly db: Db,
    appSecret: string,
  ) {
    this.key = totpKey(appSecret);
  }

  /** The account page's view of the second factor; null for an unknown or disabled operator. */
  async status(operatorId: number): Promise<TotpStatus | null> {
    const row = await q.getTotpState(this.db, operatorId);
    if (!row) return null;
    if (row.totp_secret) return { state: 'on', since: row.totp_enabled_at!, recoveryCodesLeft: await q.countRecoveryCodes(this.db, operatorId) };
    if (!row.totp_pending_secret) return { state: 'off' };
    const secret = openSecret(this.key, row.totp_pending_secret);
    return { state: 'pending', secret, uri: totpUri(secret, row.email) };
  }

  /** Starts setting up with a new secret (replacing an unconfirmed one); false when TOTP is already on. */
  async begin(operatorId: number): Promise<boolean> {
    return q.setPendingSecret(this.db, operatorId, sealSecret(this.key, newTotpSecret()));
  }

  /** Turns TOTP on when `code` matches the pending secret; returns the new recovery codes (shown once), or null. */
  async confirm(operatorId: number, code: string, now = Date.now()): Promise<string[] | null> {
    const row = await q.getTotpState(this.db, operatorId);
    if (!row?.totp_pending_secret || row.totp_secret) return null;
    const step = matchTotpStep(openSecret(this.key, row.totp_pending_secret), code, now);
    if (step === null || !(await q.enableTotp(this.db, operatorId, row.totp_pending_secret, step))) return null;
    const codes = newRecoveryCodes();
    await q.replaceRecoveryCodes(this.db, operatorId, codes.map(hashToken));
    return codes;
  }

  /** The operator turns TOTP off: needs the password and a current code (or a recovery code). */
  async disableWithProof(operatorId: number, password: string, code: string): Promise<boolean> {
    const row = await q.getTotpState(this.db, operatorId);
    if (!row?.totp_secret || !row.password_hash || !(await verifyPassword(password, row.password_hash))) return false;
    if (!(await this.checkCode(operatorId, row.totp_secret, code))) return false;
    return q.disableTotp(this.db, operatorId);
  }

  /** An admin turns an operator's TOTP off (lost phone); the operator id, or null when unknown or already off. */
  async reset(email: string): Promise<number | null> {
    const id = await q.getOperatorIdByEmail(this.db, normalizeEmail(email));
    return id !== null && (await q.disableTotp(this.db, id)) ? id : null;
  }

  /** Opens the second step of a sign-in; returns the challenge cookie's value. */
  async openChallenge(operatorId: number): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await q.insertChallenge(this.db, hashToken(token), operatorId);
    return token;
  }

  /** The operator waiting for the second step behind a challenge, or null when it expired or is unknown. */
  async challengeOperator(token: string): Promise<ChallengeOperator | null> {
    return q.getChallenge(this.db, hashToken(token), CHALLENGE_TTL_SECONDS);
  }

  /** Checks the second step's code (TOTP or recovery code); how it passed, or null. Ends the challenge on success. */
  async completeChallenge(token: string, code: string): Promise<{ operator: ChallengeOperator; factor: SecondFactor } | null> {
    const operator = await this.challengeOperator(token);
    const row = operator ? await q.getTotpState(this.db, operator.id) : null;
    if (!operator || !row?.totp_secret) return null;
    const factor = await this.checkCode(operator.id, row.totp_secret, code);
    if (!factor) return null;
    await q.deleteChallenge(this.db, hashToken(token), CHALLENGE_TTL_SECONDS);
    return { operator, factor };
  }

  /** Ends a challenge (a new sign-in started); also drops expired ones. */
  async dropChallenge(token: string): Promise<void> {
    await q.deleteChallenge(this.db, hashToken(token), CHALLENGE_TTL_SECONDS);
  }

  /** A 6-digit code of a step not used before, or an unused recovery code; which one passed, or null. */
  private async checkCode(operatorId: number, sealed: string, code: string): Promise<SecondFactor | null> {
    const step = matchTotpStep(openSecret(this.key, sealed), code);
    if (step !== null) return (await q.claimTotpStep(this.db, operatorId, step)) ? 'totp' : null;
    const recovery = normalizeRecoveryCode(code);
    return recovery && (await q.useRecoveryCode(this.db, operatorId, hashToken(recovery))) ? 'recovery-code' : null;
  }
}
