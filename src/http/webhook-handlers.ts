import { timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Deps } from '../deps.ts';
import { invalid, invalidJson, notFound, unauthorized } from '../errors.ts';
import type { InboundSource } from '../db/inbound-queries.ts';
import { mailgunEvents, MAILGUN_FRESHNESS_SECONDS, verifyMailgunSignature, type MailgunWebhook } from '../inbound/providers/mailgun.ts';
import { postmarkEvents, type PostmarkWebhook } from '../inbound/providers/postmark.ts';
import type { KeyedEvent } from '../inbound/providers/provider-events.ts';
import { sesEvents } from '../inbound/providers/ses.ts';
import { snsMessageSchema } from '../inbound/providers/sns.ts';
import { parseInput } from './validate.ts';

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The password of a Basic Authorization header, or null. */
function basicPassword(req: Request): string | null {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(req.get('authorization') ?? '');
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  return decoded.includes(':') ? decoded.slice(decoded.indexOf(':') + 1) : null;
}

/** Handlers of the e-mail providers' callbacks (SES through SNS, Mailgun, Postmark); docs/inbound-mail.md. */
export function webhookHandlers(deps: Deps) {
  const processAll = async (source: InboundSource, events: KeyedEvent[]) => {
    const outcomes: string[] = [];
    for (const { key, event } of events) outcomes.push((await deps.inbound.process(key, source, event)).outcome);
    return outcomes;
  };
  return {
    /** POST /api/webhooks/ses: an SNS message (text/plain JSON), signature-checked; confirms subscriptions. */
    async ses(req: Request, res: Response) {
      if (deps.config.SES_TOPIC_ARNS.length === 0) throw notFound('Webhook');
      let json: unknown;
      try {
        json = JSON.parse(typeof req.body === 'string' ? req.body : '');
      } catch {
        throw invalidJson();
      }
      const message = parseInput(snsMessageSchema, json);
      if (!deps.config.SES_TOPIC_ARNS.includes(message.TopicArn) || !(await deps.sns.verify(message))) throw unauthorized();
      if (message.Type === 'SubscriptionConfirmation') {
        const confirmed = await deps.sns.confirmSubscription(message);
        deps.log.info({ topic: message.TopicArn, confirmed }, 'SNS subscription confirmation');
        res.json({ confirmed });
        return;
      }
      if (message.Type !== 'Notification') return void res.json({ processed: 0, outcomes: [] });
      const events = sesEvents(message.MessageId, message.Message, deps.verp);
      if (!events) throw invalid('The SNS message does not carry an SES notification.', { Message: 'must be JSON' });
      const outcomes = await processAll('ses', events);
      res.json({ processed: outcomes.length, outcomes });
    },

    /** POST /api/webhooks/mailgun: HMAC-signed, fresh, each signature token used once. */
    async mailgun(_req: Request, res: Response, body: MailgunWebhook) {
      const key = deps.config.MAILGUN_WEBHOOK_SIGNING_KEY;
      if (!key) throw notFound('Webhook');
      if (!verifyMailgunSignature(key, body.signature)) throw unauthorized();
      const tokenKey = `${deps.config.QUEUE_PREFIX}:mailgun-token:${body.signature.token}`;
      // the token is remembered for as long as its timestamp is accepted: a replay within that time is refused
      if ((await deps.redis.set(tokenKey, '1', 'EX', MAILGUN_FRESHNESS_SECONDS * 2, 'NX')) !== 'OK') throw unauthorized();
      try {
        const outcomes = await processAll('mailgun', mailgunEvents(body, deps.verp));
        res.json({ processed: outcomes.length, outcomes });
      } catch (err) {
        // not processed: Mailgun's retry with the same signature must be let in
        await deps.redis.del(tokenKey).catch(() => undefined);
        throw err;
      }
    },

    /** POST /api/webhooks/postmark: Basic auth (any user, POSTMARK_WEBHOOK_SECRET) or ?secret=. */
    async postmark(req: Request, res: Response, body: PostmarkWebhook) {
      const secret = deps.config.POSTMARK_WEBHOOK_SECRET;
      if (!secret) throw notFound('Webhook');
      const given = basicPassword(req) ?? (typeof req.query.secret === 'string' ? req.query.secret : '');
      if (!sameSecret(given, secret)) throw unauthorized();
      const outcomes = await processAll('postmark', postmarkEvents(body, deps.verp));
      res.json({ processed: outcomes.length, outcomes });
    },
  };
}
