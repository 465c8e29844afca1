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

/** Signs and verifies compact, purpose-bound, tamper-proof link tokens (HMAC-SHA256, truncated to 128 bits). */
export class TokenSigner {
  private readonly keys: Record<TokenPurpose, Buffer>;

  constructor(secret: string) {
    const derive = (purpose: string) => createHmac('sha256', secret).update(`powiadom-token:${purpose}`).digest();
    this.keys = { confirm: derive('confirm'), manage: derive('manage'), unsubscribe: derive('unsubscribe') };
  }

  /** Issues a token for `subjectId`; `ttlSeconds` undefined = no expiry. */
  sign(purpose: TokenPurpose, subjectId: number, ttlSeconds?: number, now = Date.now()): string {
    const payload = Buffer.alloc(PAYLOAD_BYTES);
    payload.writeUInt8(PURPOSE_BYTE[purpose], 0);
    payload.writeBigUInt64BE(BigInt(subjectId), 1);
    payload.writeUInt32BE(ttlSeconds === undefined ? 0 : Math.floor(now / 1000) + ttlSeconds, 9);
    return Buffer.concat([payload, this.mac(purpose, payload)]).toString('base64url');
  }

  /** Verifies a token for the expected purpose; any change to any character fails. */
  verify(purpose: TokenPurpose, token: string, now = Date.now()): TokenCheck {
    if (typeof token !== 'string' || token.length !== TOKEN_LENGTH || !/^[A-Za-z0-9_-]+$/.test(token)) {
      return { ok: false, reason: 'invalid' };
    }
    const raw = Buffer.from(token, 'base64url');
    // Re-encoding must give the same text: rejects non-canonical trailing bits.
    if (raw.length !== PAYLOAD_BYTES + MAC_BYTES || raw.toString('base64url') !== token) return { ok: false, reason: 'invalid' };
    const payload = raw.subarray(0, PAYLOAD_BYTES);
    if (payload.readUInt8(0) !== PURPOSE_BYTE[purpose]) return { ok: false, reason: 'invalid' };
    if (!timingSafeEqual(raw.subarray(PAYLOAD_BYTES), this.mac(purpose, payload))) return { ok: false, reason: 'invalid' };
    const expiry = payload.readUInt32BE(9);
    if (expiry !== 0 && expiry * 1000 < now) return { ok: false, reason: 'expired' };
    const subjectId = Number(payload.readBigUInt64BE(1));
    return { ok: true, claims: { purpose, subjectId, expiresAt: expiry ? new Date(expiry * 1000) : null } };
  }

  private mac(purpose: TokenPurpose, payload: Buffer): Buffer {
    return createHmac('sha256', this.keys[purpose]).update(payload).digest().subarray(0, MAC_BYTES);
  }
}
