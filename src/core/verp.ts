import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a bounce address refers to: a notification delivery, a transactional e-mail's subscriber, a digest. */
export type VerpKind = 'notification' | 'transactional' | 'digest';

/** The delivery a VERP bounce address names. */
export interface VerpRef {
  kind: VerpKind;
  /** deliveries.id (notification), subscribers.id (transactional), the digest ledger's id (digest) */
  id: number;
}

const LETTER: Record<VerpKind, string> = { notification: 'n', transactional: 't', digest: 'd' };
const KIND_OF: Record<string, VerpKind> = { n: 'notification', t: 'transactional', d: 'digest' };
const MAC_CHARS = 12;

/**
 * Per-message envelope senders (VERP): `bounces+n42-3f9a0c2d7b1e@domain` names notification delivery 42
 * with a 48-bit HMAC, so a bounce is matched to its delivery even when the DSN itself is malformed, and a
 * stranger cannot make us suppress someone by mailing a made-up reference. Lower-case only: some relays
 * lower-case the local part.
 */
export class VerpAddresses {
  private readonly key: Buffer;
  private readonly local: string;
  private readonly domain: string;
  private readonly pattern: RegExp;

  constructor(bounceAddress: string, secret: string) {
    const at = bounceAddress.lastIndexOf('@');
    this.local = bounceAddress.slice(0, at);
    this.domain = bounceAddress.slice(at + 1).toLowerCase();
    this.key = createHmac('sha256', secret).update('powiadom-verp').digest();
    const escaped = this.local.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    this.pattern = new RegExp(`${escaped}\\+([ntd])(\\d{1,15})-([0-9a-f]{${MAC_CHARS}})@`, 'gi');
  }

  /** The envelope sender of one message. */
  address(ref: VerpRef): string {
    const tag = `${LETTER[ref.kind]}${ref.id}`;
    return `${this.local}+${tag}-${this.mac(tag)}@${this.domain}`;
  }

  /** The first validly signed reference found in the text (headers, a DSN), or null. */
  find(text: string): VerpRef | null {
    for (const match of text.matchAll(this.pattern)) {
      const tag = `${match[1]!.toLowerCase()}${match[2]}`;
      const given = Buffer.from(match[3]!.toLowerCase());
      const expected = Buffer.from(this.mac(tag));
      if (timingSafeEqual(given, expected)) return { kind: KIND_OF[tag[0]!]!, id: Number(match[2]) };
    }
    return null;
  }

  private mac(tag: string): string {
    return createHmac('sha256', this.key).update(tag).digest('hex').slice(0, MAC_CHARS);
  }
}
