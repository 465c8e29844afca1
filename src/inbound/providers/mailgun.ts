import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { VerpAddresses } from '../../core/verp.ts';
import { providerBounce, providerComplaint, statusIn, type KeyedEvent } from './provider-events.ts';

/** Mailgun's webhook body: the signature block and the event. */
export const mailgunWebhookSchema = z.object({
  signature: z.object({
    timestamp: z.string().regex(/^\d{1,12}$/),
    token: z.string().min(16).max(200),
    signature: z.string().regex(/^[0-9a-f]{64}$/),
  }),
  'event-data': z.looseObject({
    id: z.string().min(1).max(200),
    event: z.string().max(64),
    severity: z.string().max(32).optional(),
    recipient: z.string().max(320).optional(),
    envelope: z.looseObject({ sender: z.string().max(320).optional() }).optional(),
    'delivery-status': z.looseObject({ code: z.number().optional(), message: z.string().optional(), description: z.string().optional() }).optional(),
    message: z.looseObject({ headers: z.looseObject({ 'message-id': z.string().optional() }).optional() }).optional(),
  }),
});

/** A parsed Mailgun webhook. */
export type MailgunWebhook = z.infer<typeof mailgunWebhookSchema>;

/** How old a signed timestamp may be (and how long a token is remembered against replays). */
export const MAILGUN_FRESHNESS_SECONDS = 300;

/** True when the HMAC-SHA256 of timestamp+token under the signing key matches and the timestamp is fresh. */
export function verifyMailgunSignature(key: string, sig: MailgunWebhook['signature'], now = Date.now()): boolean {
  if (Math.abs(now / 1000 - Number(sig.timestamp)) > MAILGUN_FRESHNESS_SECONDS) return false;
  const expected = createHmac('sha256', key).update(sig.timestamp + sig.token).digest();
  return timingSafeEqual(expected, Buffer.from(sig.signature, 'hex'));
}

/** The event of a Mailgun webhook: failed (permanent or temporary) and complained; others give none. */
export function mailgunEvents(body: MailgunWebhook, verp: VerpAddresses | null): KeyedEvent[] {
  const data = body['event-data'];
  const key = `mailgun:${data.id}`;
  const sender = data.envelope?.sender ?? null;
  const original = data.message?.headers?.['message-id'] ?? null;
  if (data.event === 'complained') return [{ key, event: providerComplaint(data.recipient ?? null, sender, verp, original) }];
  if (data.event !== 'failed') return [];
  const ds = data['delivery-status'];
  const permanent = data.severity === 'permanent';
  // Mailgun reports permanent failures without an enhanced code too: count those as address failures
  const found = statusIn(ds?.message) ?? statusIn(ds?.description);
  const status = found && found.startsWith(permanent ? '5' : '4') ? found : permanent ? '5.1.0' : '4.0.0';
  const diagnostic = [ds?.code, ds?.message ?? ds?.description].filter((v) => v !== undefined && v !== '').join(' ') || null;
  return [{ key, event: providerBounce(data.recipient ?? null, status, diagnostic, sender, verp, original) }];
}
