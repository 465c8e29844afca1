import type pg from 'pg';
import * as inbound from '../db/inbound-queries.ts';
import type { InboundSource, SubscriberAddress } from '../db/inbound-queries.ts';
import { withTransaction, type Db } from '../db/pool.ts';
import { markUnsubscribed, withdrawConsents } from '../db/subscriber-queries.ts';
import { upsertSuppression } from '../db/suppression-queries.ts';
import { maskEmail, type Logger } from '../log.ts';
import { hashEmail } from './email-address.ts';
import { deliveryRefFromMessageId, deliveryRefFromVerp, isPermanentAddressFailure, type BounceEvent, type ComplaintEvent, type InboundEvent, type LedgerRef } from './inbound-events.ts';
import type { TokenSigner } from './tokens.ts';

/**
 * What processing did: 'suppressed' (address suppressed), 'delivery_failed' (delivery failed, address kept),
 * 'soft' (soft bounce recorded), 'unsubscribed', 'ignored' (auto-reply), 'unmatched' (no delivery,
 * address or valid token found), 'unknown' (left for a person), 'duplicate' (processed before).
 */
export type InboundOutcome = 'suppressed' | 'delivery_failed' | 'soft' | 'unsubscribed' | 'ignored' | 'unmatched' | 'unknown' | 'duplicate';

/** Thresholds of soft bounces that suppress an address. */
export interface SoftBounceSettings {
  limit: number;
  windowDays: number;
}

/** Counts processed messages (metrics); the core knows no Prometheus. */
export type InboundObserver = (kind: InboundEvent['kind'], outcome: InboundOutcome | 'error') => void;

interface Effect {
  outcome: InboundOutcome;
  emailHash: string | null;
  soft?: boolean;
  detail?: string;
}

/** True when a person should look at a message with this outcome (it goes to the unrecognised folder). */
export function needsPerson(outcome: InboundOutcome): boolean {
  return outcome === 'unknown' || outcome === 'unmatched';
}

/**
 * Acts on bounces, complaints and mailto unsubscribes, from a mailbox or a provider's webhook. Each message
 * is claimed under its key in the transaction that applies its effect, so a message processed again (a
 * crash before it was moved out of the inbox, a provider's retry) changes nothing the second time.
 */
export class InboundService {
  constructor(
    private readonly pool: pg.Pool,
    private readonly signer: TokenSigner,
    private readonly softBounces: SoftBounceSettings,
    private readonly log: Logger,
    private readonly observe: InboundObserver = () => undefined,
  ) {}

  /**
   * Applies one event exactly once under `key` (e.g. 'imap:<message-id>'). Returns what it did, or for a
   * key processed before what it did then, with `duplicate` set.
   */
  async process(key: string, source: InboundSource, event: InboundEvent): Promise<{ outcome: InboundOutcome; duplicate: boolean }> {
    const result = await withTransaction(this.pool, async (tx) => {
      if (!(await inbound.claimInboundMessage(tx, key, source, event.kind))) {
        return { outcome: ((await inbound.getInboundOutcome(tx, key)) ?? 'unknown') as InboundOutcome, duplicate: true };
      }
      const effect = await this.apply(tx, event);
      await inbound.finishInboundMessage(tx, key, effect.outcome, effect.emailHash, effect.soft ?? false, effect.detail ?? null);
      return { outcome: effect.outcome, duplicate: false };
    });
    const outcome = result.duplicate ? 'duplicate' : result.outcome;
    this.observe(event.kind, outcome);
    this.log.info({ source, kind: event.kind, outcome }, 'inbound message processed');
    return result;
  }

  /** Notes an attempt that threw; returns how many attempts failed so far. */
  async recordFailure(key: string, source: InboundSource, err: unknown): Promise<number> {
    this.observe('unknown', 'error');
    const detail = err instanceof Error ? err.message.slice(0, 500) : 'failed';
    return inbound.recordInboundFailure(this.pool, key, source, detail);
  }

  private async apply(tx: Db, event: InboundEvent): Promise<Effect> {
    switch (event.kind) {
      case 'bounce':
        return this.applyBounce(tx, event);
      case 'complaint':
        return this.applyComplaint(tx, event);
      case 'unsubscribe':
        return this.applyUnsubscribe(tx, event.token);
      case 'auto_reply':
        return { outcome: 'ignored', emailHash: null };
      default:
        return { outcome: 'unknown', emailHash: null, detail: event.reason };
    }
  }

  /**
   * The delivery (notification or digest ledger row) and address a report is about: the VERP reference
   * first, then the quoted Message-ID, then the address.
   */
  private async target(tx: Db, event: BounceEvent | ComplaintEvent): Promise<{ delivery: LedgerRef | null; subscriber: SubscriberAddress | null; email: string | null }> {
    const ref = deliveryRefFromVerp(event.ref) ?? deliveryRefFromMessageId(event.originalMessageId);
    const delivery = ref ? await inbound.getDeliveryRecipient(tx, ref.ledger, ref.id) : null;
    if (ref && delivery) return { delivery: ref, subscriber: delivery, email: delivery.email };
    const byRef = event.ref?.kind === 'transactional' ? await inbound.getSubscriberEmail(tx, event.ref.id) : null;
    if (byRef) return { delivery: null, subscriber: byRef, email: byRef.email };
    const email = event.recipient?.trim().toLowerCase() ?? null;
    return { delivery: null, subscriber: email ? await inbound.findSubscriberByEmail(tx, email) : null, email };
  }

  private async applyBounce(tx: Db, event: BounceEvent): Promise<Effect> {
    const { delivery, email } = await this.target(tx, event);
    if (!email) return { outcome: 'unmatched', emailHash: null, detail: `bounce ${event.status} without a known recipient` };
    const emailHash = hashEmail(email);
    const detail = `bounce ${event.status}: ${maskAddresses(event.diagnostic ?? '')}`.slice(0, 500);
    if (event.soft) return this.applySoftBounce(tx, emailHash, detail);
    if (delivery) await inbound.markDeliveryBounced(tx, delivery.ledger, delivery.id, detail);
    if (!isPermanentAddressFailure(event.status)) return { outcome: 'delivery_failed', emailHash, detail };
    await upsertSuppression(tx, emailHash, 'hard_bounce', `bounce ${event.status}`);
    this.log.info({ to: maskEmail(email), status: event.status }, 'hard bounce: address suppressed');
    return { outcome: 'suppressed', emailHash, detail };
  }

  private async applySoftBounce(tx: Db, emailHash: string, detail: string): Promise<Effect> {
    // the current bounce is recorded by finish-inbound-message in this transaction: count it by hand
    const count = (await inbound.countSoftBounces(tx, emailHash, this.softBounces.windowDays)) + 1;
    if (count < this.softBounces.limit) return { outcome: 'soft', emailHash, soft: true, detail };
    await upsertSuppression(tx, emailHash, 'hard_bounce', `${count} soft bounces in ${this.softBounces.windowDays} days`);
    return { outcome: 'suppressed', emailHash, soft: true, detail };
  }

  private async applyComplaint(tx: Db, event: ComplaintEvent): Promise<Effect> {
    const { subscriber, email } = await this.target(tx, event);
    if (!email) return { outcome: 'unmatched', emailHash: null, detail: 'complaint without a known recipient' };
    if (subscriber && (await markUnsubscribed(tx, subscriber.id))) await withdrawConsents(tx, subscriber.id, 'complaint');
    await upsertSuppression(tx, hashEmail(email), 'complaint', 'complaint report');
    this.log.info({ to: maskEmail(email) }, 'complaint: unsubscribed and suppressed');
    return { outcome: 'suppressed', emailHash: hashEmail(email) };
  }

  private async applyUnsubscribe(tx: Db, token: string): Promise<Effect> {
    const check = this.signer.verify('unsubscribe', token);
    if (!check.ok) return { outcome: 'unmatched', emailHash: null, detail: `unsubscribe token ${check.reason}` };
    const subscriber = await inbound.getSubscriberEmail(tx, check.claims.subjectId);
    if (!subscriber) return { outcome: 'unsubscribed', emailHash: null, detail: 'subscriber already erased' };
    if (await markUnsubscribed(tx, subscriber.id)) await withdrawConsents(tx, subscriber.id, 'mailto');
    return { outcome: 'unsubscribed', emailHash: hashEmail(subscriber.email) };
  }
}

/** Masks every address in a diagnostic text (a***@example.pl). */
export function maskAddresses(text: string): string {
  return text.replace(/[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,63}/g, (a) => maskEmail(a)).replace(/\s+/g, ' ').trim();
}
