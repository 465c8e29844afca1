import type { DeliveryLedger } from '../db/inbound-queries.ts';
import type { VerpRef } from './verp.ts';

/** A bounce report: the recipient's server gave up (failed) or is still trying (delayed). */
export interface BounceEvent {
  kind: 'bounce';
  /** the address that bounced, when the report names it */
  recipient: string | null;
  /** enhanced status code, e.g. '5.1.1' */
  status: string;
  /** true for 4.x.x or Action: delayed (transient) */
  soft: boolean;
  diagnostic: string | null;
  /** the VERP reference of the envelope sender the bounce came back to */
  ref: VerpRef | null;
  /** Message-ID of the e-mail that bounced, when the report quotes it */
  originalMessageId: string | null;
}

/** A complaint (ARF feedback-type abuse, a provider's complaint event). */
export interface ComplaintEvent {
  kind: 'complaint';
  recipient: string | null;
  ref: VerpRef | null;
  originalMessageId: string | null;
}

/** What an inbound message or webhook event means, before anything is done about it. */
export type InboundEvent =
  | BounceEvent
  | ComplaintEvent
  | { kind: 'unsubscribe'; token: string }
  | { kind: 'auto_reply' }
  | { kind: 'unknown'; reason: string };

/** Enhanced status codes that mean the address itself is bad: 5.1.x (no such user, bad domain), 5.2.1 (disabled). */
export function isPermanentAddressFailure(status: string): boolean {
  return /^5\.1\.\d{1,3}$/.test(status) || status === '5.2.1';
}

/**
 * The delivery a quoted Message-ID of ours names: `notification-<article>-<delivery>@…` (the deliveries row)
 * or `digest-<run>-<delivery>@…` (the digest ledger's row), or null.
 */
export function deliveryRefFromMessageId(messageId: string | null): LedgerRef | null {
  const match = messageId ? /(notification|digest)-\d+-(\d+)@/.exec(messageId) : null;
  return match ? { ledger: match[1] as DeliveryLedger, id: Number(match[2]) } : null;
}

/** The delivery a VERP reference names (notification or digest), or null (none, or a transactional e-mail's). */
export function deliveryRefFromVerp(ref: VerpRef | null): LedgerRef | null {
  return ref && ref.kind !== 'transactional' ? { ledger: ref.kind, id: ref.id } : null;
}

/** A row of one of the two delivery ledgers: deliveries (notification) or digest_deliveries (digest). */
export interface LedgerRef {
  ledger: DeliveryLedger;
  id: number;
}
