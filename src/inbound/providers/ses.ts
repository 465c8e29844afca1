import type { VerpAddresses } from '../../core/verp.ts';
import { providerBounce, providerComplaint, statusIn, type KeyedEvent } from './provider-events.ts';

interface SesRecipient {
  emailAddress?: string;
  status?: string;
  diagnosticCode?: string;
}

interface SesNotification {
  notificationType?: string;
  eventType?: string;
  mail?: { source?: string; commonHeaders?: { messageId?: string } };
  bounce?: { bounceType?: string; bouncedRecipients?: SesRecipient[] };
  complaint?: { complainedRecipients?: SesRecipient[] };
}

/**
 * The events of one SES notification (the SNS Message, notification or event-publishing format):
 * Permanent bounces as failures (status from SES, else 5.1.1), Transient as soft (4.x), complaints.
 * Delivery and other types give no events. Keys: ses:<SNS MessageId>:<recipient number>.
 */
export function sesEvents(snsMessageId: string, message: string, verp: VerpAddresses | null): KeyedEvent[] | null {
  let body: SesNotification;
  try {
    body = JSON.parse(message) as SesNotification;
  } catch {
    return null;
  }
  const type = body.notificationType ?? body.eventType;
  const sender = body.mail?.source ?? null;
  const original = body.mail?.commonHeaders?.messageId ?? null;
  if (type === 'Bounce') {
    const permanent = body.bounce?.bounceType === 'Permanent';
    return (body.bounce?.bouncedRecipients ?? []).map((r, i) => {
      const status = statusIn(r.status) ?? statusIn(r.diagnosticCode) ?? (permanent ? '5.1.1' : '4.0.0');
      const event = providerBounce(r.emailAddress ?? null, permanent ? status : status.replace(/^5/, '4'), r.diagnosticCode ?? null, sender, verp, original);
      return { key: `ses:${snsMessageId}:${i}`, event };
    });
  }
  if (type === 'Complaint') {
    return (body.complaint?.complainedRecipients ?? []).map((r, i) => ({ key: `ses:${snsMessageId}:${i}`, event: providerComplaint(r.emailAddress ?? null, sender, verp, original) }));
  }
  return [];
}
