import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a link token may be used for; a token for one purpose never works for another. */
export type TokenPurpose = 'confirm' | 'manage' | 'unsubscribe';

const PURPOSE_BYTE: Record<TokenPurpose, number> = { confirm: 1, manage: 2, unsubscribe: 3 };
const MAC_BYTES = 16;
const PAYLOAD_BYTES = 1 + 8 + 4; // purpose, subject id, expiry (unix seconds, 0 = never)
/** Every token has this many characters (base64url of 29 bytes), which lets e-mails be built once. */
export const TOKEN_LENGTH = Math.ceil(((PAYLOAD_BYTES + MAC_BYTES) * 4) / 3);

/** The verified content of a token. */
export interface TokenClaims {
  purpose: TokenPurpose;
  /** subscriber id (manage, unsubscribe) or consent id (confirm) */
  subjectId: number;
  expiresAt: Date | null;
}

/** Outcome of verifying a token. */
export type TokenCheck = { ok: true; claims: TokenClaims } | { ok: false; reason: 'invalid' | 'expired' };

/**
 * Signs and verifies compact, purpose-bound, tamper-proof link tokens (HMAC-SHA256, truncated to 128 bits).
 * Manage and unsubscribe tokens are also signed over the subscriber's token version (kept in PostgreSQL,
 * not in the token, so tokens keep their length): raising it voids every link already sent. Version 0
 * signs exactly as before versions existed, so links sent earlier keep working until a revocation.
 */
export class TokenSigner {
  private readonly keys: Record<TokenPurpose, Buffer>;

  constructor(secret: string) {
    const derive = (purpose: string) => createHmac('sha256', secret).update(`powiadom-token:${purpose}`).digest();
    this.keys = { confirm: derive('confirm'), manage: derive('manage'), unsubscribe: derive('unsubscribe') };
  }

  /** Issues a token for `subjectId`; `ttlSeconds` undefined = no expiry; `version`: the subscriber's token version. */
  sign(purpose: TokenPurpose, subjectId: number, ttlSeconds?: number, now = Date.now(), version = 0): string {
    const payload = Buffer.alloc(PAYLOAD_BYTES);
    payload.writeUInt8(PURPOSE_BYTE[purpose], 0);
    payload.writeBigUInt64BE(BigInt(subjectId), 1);
    payload.writeUInt32BE(ttlSeconds === undefined ? 0 : Math.floor(now / 1000) + ttlSeconds, 9);
    return Buffer.concat([payload, this.mac(purpose, payload, version)]).toString('base64url');
  }

  /** A never-expiring manage or unsubscribe token of a subscriber at its current token version. */
  signForSubscriber(purpose: 'manage' | 'unsubscribe', subscriberId: number, version: number): string {
    return this.sign(purpose, subscriberId, undefined, Date.now(), version);
  }

  /** The subject id a well-formed token names, unverified: only to look up the version to verify it with. */
  subjectOf(token: string): number | null {
    if (typeof token !== 'string' || token.length !== TOKEN_LENGTH || !/^[A-Za-z0-9_-]+$/.test(token)) return null;
    const id = Buffer.from(token, 'base64url').readBigUInt64BE(1);
    return id <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(id) : null;
  }

  /** Verifies a token for the expected purpose (and token version); any change to any character fails. */
  verify(purpose: TokenPurpose, token: string, now = Date.now(), version = 0): TokenCheck {
    if (typeof token !== 'string' || token.length !== TOKEN_LENGTH || !/^[A-Za-z0-9_-]+$/.test(token)) {
      return { ok: false, reason: 'invalid' };
    }
    const raw = Buffer.from(token, 'base64url');
    // Re-encoding must give the same text: rejects non-canonical trailing bits.
    if (raw.length !== PAYLOAD_BYTES + MAC_BYTES || raw.toString('base64url') !== token) return { ok: false, reason: 'invalid' };
    const payload = raw.subarray(0, PAYLOAD_BYTES);
    if (payload.readUInt8(0) !== PURPOSE_BYTE[purpose]) return { ok: false, reason: 'invalid' };
    if (!timingSafeEqual(raw.subarray(PAYLOAD_BYTES), this.mac(purpose, payload, version))) return { ok: false, reason: 'invalid' };
    const expiry = payload.readUInt32BE(9);
    if (expiry !== 0 && expiry * 1000 < now) return { ok: false, reason: 'expired' };
    const subjectId = Number(payload.readBigUInt64BE(1));
    return { ok: true, claims: { purpose, subjectId, expiresAt: expiry ? new Date(expiry * 1000) : null } };
  }

  private mac(purpose: TokenPurpose, payload: Buffer, version: number): Buffer {
    const hmac = createHmac('sha256', this.keys[purpose]).update(payload);
    if (version !== 0) hmac.update(`v${version}`);
    return hmac.digest().subarray(0, MAC_BYTES);
  }
}
