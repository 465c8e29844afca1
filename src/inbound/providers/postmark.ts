import { z } from 'zod';
import type { VerpAddresses } from '../../core/verp.ts';
import { providerBounce, providerComplaint, type KeyedEvent } from './provider-events.ts';

/** Postmark's bounce and spam complaint webhook bodies (the fields we use). */
export const postmarkWebhookSchema = z.looseObject({
  RecordType: z.string().max(64),
  ID: z.union([z.number(), z.string().max(200)]),
  Type: z.string().max(64).optional(),
  Email: z.string().max(320).optional(),
  MessageID: z.string().max(200).optional(),
  Details: z.string().max(5000).optional(),
  Description: z.string().max(5000).optional(),
});

/** A parsed Postmark webhook. */
export type PostmarkWebhook = z.infer<typeof postmarkWebhookSchema>;

// Postmark's bounce types that mean the address is gone; the transient ones are soft.
const HARD = new Set(['HardBounce', 'BadEmailAddress', 'ManuallyDeactivated']);
const SOFT = new Set(['SoftBounce', 'Transient', 'DnsError']);

/** The event of a Postmark webhook: Bounce (hard, soft) and SpamComplaint; others give none. */
export function postmarkEvents(body: PostmarkWebhook, verp: VerpAddresses | null): KeyedEvent[] {
  const key = `postmark:${body.RecordType}:${body.ID}`;
  const email = body.Email ?? null;
  if (body.RecordType === 'SpamComplaint') return [{ key, event: providerComplaint(email, null, verp) }];
  if (body.RecordType !== 'Bounce' || !body.Type) return [];
  const diagnostic = body.Details ?? body.Description ?? null;
  if (HARD.has(body.Type)) return [{ key, event: providerBounce(email, '5.1.1', diagnostic, null, verp) }];
  if (SOFT.has(body.Type)) return [{ key, event: providerBounce(email, '4.0.0', diagnostic, null, verp) }];
  return [];
}
