import type { InboundEvent } from '../../core/inbound-events.ts';
import type { VerpAddresses } from '../../core/verp.ts';

/** One event of a provider's callback and the key it is processed under exactly once. */
export interface KeyedEvent {
  key: string;
  event: InboundEvent;
}

const STATUS = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/;

/** The enhanced status code in a text, or null. */
export function statusIn(text: string | null | undefined): string | null {
  return text ? (STATUS.exec(text)?.[0] ?? null) : null;
}

/** A bounce event from a provider's fields. */
export function providerBounce(
  recipient: string | null,
  status: string,
  diagnostic: string | null,
  envelopeSender: string | null,
  verp: VerpAddresses | null,
  originalMessageId: string | null = null,
): InboundEvent {
  const ref = envelopeSender && verp ? verp.find(envelopeSender) : null;
  return { kind: 'bounce', recipient, status, soft: status.startsWith('4'), diagnostic, ref, originalMessageId };
}

/** A complaint event from a provider's fields. */
export function providerComplaint(recipient: string | null, envelopeSender: string | null, verp: VerpAddresses | null, originalMessageId: string | null = null): InboundEvent {
  const ref = envelopeSender && verp ? verp.find(envelopeSender) : null;
  return { kind: 'complaint', recipient, ref, originalMessageId };
}
