import type { Request, Response } from 'express';
import { z } from 'zod';
import { hashEmail, normalizeEmail, emailProblem } from '../core/email-address.ts';
import { OPERATOR_REASONS, SuppressionService } from '../core/suppressions.ts';
import { listSubscriberDeliveries } from '../db/console-queries.ts';
import { getSubscriber, listConsents } from '../db/subscriber-queries.ts';
import { notFound } from '../errors.ts';
import { route, type RouteSpec } from '../http/route.ts';
import { consoleLocals } from './auth.ts';
import { consoleLang, sendPage, type ConsoleContext } from './context.ts';
import { consoleHref } from './render.ts';
import type { ConsoleGuards } from './auth.ts';

const lookupQuery = z.object({ email: z.string().max(320).optional(), lang: z.string().optional() });
const idParams = z.object({ id: z.coerce.number().int().positive() });
const reasonBody = z.object({ reason: z.string().trim().min(3).max(500), _csrf: z.string(), lang: z.string().optional() });
const eraseBody = z.object({ confirm: z.literal('yes'), _csrf: z.string(), lang: z.string().optional() });
const suppressBody = z.object({ reason: z.enum(OPERATOR_REASONS), note: z.string().trim().max(500).optional(), _csrf: z.string(), lang: z.string().optional() });
const plainBody = z.object({ _csrf: z.string(), lang: z.string().optional() });

const HISTORY = 100;

/** GET /admin/subscribers?email= (exact address only) and one subscriber's page with its actions. */
export function subscriberRoutes(ctx: ConsoleContext, g: ConsoleGuards): RouteSpec[] {
  const h = subscriberHandlers(ctx);
  return [
    route({ method: 'get', path: '/subscribers', before: g.read, query: lookupQuery, handler: (i, req, res) => h.lookup(req, res, i.query.email) }),
    route({ method: 'get', path: '/subscribers/:id', before: g.read, params: idParams, handler: (i, req, res) => h.show(req, res, i.params.id) }),
    route({ method: 'post', path: '/subscribers/:id/unsubscribe', before: g.act('operator'), params: idParams, body: reasonBody, handler: (i, req, res) => h.unsubscribe(req, res, i.params.id, i.body.reason) }),
    route({ method: 'post', path: '/subscribers/:id/manage-link', before: g.act('operator'), params: idParams, body: plainBody, handler: (i, req, res) => h.manageLink(req, res, i.params.id) }),
    route({ method: 'post', path: '/subscribers/:id/erase', before: g.act('operator'), params: idParams, body: eraseBody, handler: (i, req, res) => h.erase(req, res, i.params.id) }),
    route({ method: 'post', path: '/subscribers/:id/suppress', before: g.act('operator'), params: idParams, body: suppressBody, handler: (i, req, res) => h.suppress(req, res, i.params.id, i.body) }),
    route({ method: 'post', path: '/subscribers/:id/lift', before: g.act('operator'), params: idParams, body: plainBody, handler: (i, req, res) => h.lift(req, res, i.params.id) }),
  ];
}

function subscriberHandlers(ctx: ConsoleContext) {
  const { pool, subscriptions, log } = ctx.deps;
  const suppressions = new SuppressionService(pool, log);
  const object = (id: number) => ({ type: 'subscriber', id });
  const back = (req: Request, res: Response, id: number, done: string) => res.redirect(303, consoleHref(`/admin/subscribers/${id}`, consoleLang(req), { done }));
  const load = async (id: number) => {
    const subscriber = await getSubscriber(pool, id);
    if (!subscriber) throw notFound('Subscriber');
    return subscriber;
  };

  return {
    /** The lookup form; an exact, known address opens that subscriber's page. */
    async lookup(req: Request, res: Response, email: string | undefined) {
      const problem = email ? emailProblem(email) : null;
      const found = email && !problem ? (await subscriptions.find(email)).find((s) => s.email === normalizeEmail(email)) : undefined;
      if (found) return res.redirect(303, consoleHref(`/admin/subscribers/${found.id}`, consoleLang(req)));
      const suppression = email && !problem ? await suppressions.lookup(email) : null;
      res.status(email && problem ? 400 : 200);
      sendPage(ctx, req, res, 'subscriber-lookup', { title: 'subscribers.title', nav: 'subscribers' }, { email, problem: Boolean(email && problem), notFound: Boolean(email && !problem), suppression });
    },

    /** Status, sections, language, consent and delivery history, suppression, audit entries, actions. */
    async show(req: Request, res: Response, id: number) {
      const subscriber = await load(id);
      const [consents, deliveries, suppression, audit] = await Promise.all([listConsents(pool, id), listSubscriberDeliveries(pool, id, HISTORY), suppressions.lookup(subscriber.email), ctx.audit.list(20, undefined, { type: 'subscriber', id: String(id) })]);
      sendPage(ctx, req, res, 'subscriber', { title: 'subscriber.title', nav: 'subscribers' }, { subscriber, consents, deliveries, suppression, audit, emailHash: hashEmail(subscriber.email) });
    },

    /** Ends the subscription on the subscriber's request (by phone, letter); the reason goes to the audit log. */
    async unsubscribe(req: Request, res: Response, id: number, reason: string) {
      await load(id);
      await subscriptions.unsubscribeById(id, 'operator');
      await ctx.audit.record(consoleLocals(res).actor, 'subscriber.unsubscribe', object(id), { reason });
      back(req, res, id, 'unsubscribed');
    },

    /** E-mails the subscriber (of any status: also one just unsubscribed) the link to their settings page. */
    async manageLink(req: Request, res: Response, id: number) {
      const subscriber = await load(id);
      await ctx.audit.record(consoleLocals(res).actor, 'subscriber.send-manage-link', object(id));
      await ctx.deps.manageLinks.requestForSubscriber(id, subscriber.lang === 'en' ? 'en' : 'pl');
      back(req, res, id, 'linkSent');
    },

    /** GDPR erasure: deletes the subscriber and keeps only a hashed suppression entry. */
    async erase(req: Request, res: Response, id: number) {
      const subscriber = await load(id);
      await subscriptions.eraseById(id);
      await ctx.audit.record(consoleLocals(res).actor, 'subscriber.erase', object(id), { emailHash: hashEmail(subscriber.email) });
      res.redirect(303, consoleHref('/admin/subscribers', consoleLang(req), { done: 'erased' }));
    },

    /** Suppresses the subscriber's address (never mailed until lifted). */
    async suppress(req: Request, res: Response, id: number, body: z.infer<typeof suppressBody>) {
      const subscriber = await load(id);
      await suppressions.suppress(subscriber.email, body.reason, body.note || null);
      await ctx.audit.record(consoleLocals(res).actor, 'suppression.add', object(id), { emailHash: hashEmail(subscriber.email), reason: body.reason, note: body.note ?? null });
      back(req, res, id, 'suppressed');
    },

    /** Lifts the suppression of the subscriber's address. */
    async lift(req: Request, res: Response, id: number) {
      const subscriber = await load(id);
      const lifted = await suppressions.lift(subscriber.email);
      if (lifted) await ctx.audit.record(consoleLocals(res).actor, 'suppression.lift', object(id), { emailHash: hashEmail(subscriber.email) });
      back(req, res, id, lifted ? 'lifted' : 'notSuppressed');
    },
  };
}
