import type { Request, RequestHandler, Response } from 'express';
import type { z } from 'zod';
import type { Config } from '../config.ts';
import { safeConsentSource } from '../core/consent-source.ts';
import { ValidationError } from '../core/errors.ts';
import type { Links } from '../core/links.ts';
import type { Subscriber, SubscriptionService } from '../core/subscriptions.ts';
import { TopicCatalog } from '../core/topics.ts';
import type { Deps } from '../deps.ts';
import { invalidToken, notFound } from '../errors.ts';
import { toLang, translate, type Lang } from '../i18n.ts';
import { AltchaGuard, altchaWidgetHtml } from './altcha.ts';
import type { PageRenderer } from './pages.ts';
import { clientIp, pageLang } from './request-info.ts';
import type { preferencesFormSchema, subscribeFormSchema, subscribeJsonSchema } from './schemas.ts';
import { presentPreferences, presentRefusedPreferences, presentSubscribeForm, refusedFormValues } from './subscription-pages.ts';

type SubscribeJson = z.infer<typeof subscribeJsonSchema>;
type SubscribeForm = z.infer<typeof subscribeFormSchema>;
type PreferencesForm = z.infer<typeof preferencesFormSchema>;

/** What the handlers of the public subscription lifecycle need. */
export interface SubscriptionContext {
  subscriptions: SubscriptionService;
  topics: TopicCatalog;
  pages: PageRenderer;
  config: Config;
  links: Links;
  /** optional proof of work on the form and the JSON API, on when ALTCHA_HMAC_KEY is set */
  altcha: AltchaGuard | null;
}

/** Builds the handlers' context from the process's dependencies. */
export function subscriptionContext(deps: Deps): SubscriptionContext {
  const { subscriptions, pages, config, links } = deps;
  const altcha = config.ALTCHA_HMAC_KEY ? new AltchaGuard(config.ALTCHA_HMAC_KEY, deps.redis, config.QUEUE_PREFIX) : null;
  return { subscriptions, topics: new TopicCatalog(deps.pool), pages, config, links, altcha };
}

/** The URL the language switch should lead to: a POST's answer switches to the form itself. */
function pageUrl(req: Request): string {
  return req.method === 'GET' ? req.originalUrl : req.path.startsWith('/api/') ? '/subscribe' : req.path;
}

function sendPage(ctx: SubscriptionContext, req: Request, res: Response, name: string, lang: Lang, titleKey: string, data: Record<string, unknown>, status = 200): void {
  const context = { lang, title: translate(lang, titleKey), currentUrl: pageUrl(req), embed: req.query.embed === '1' };
  res.status(status).type('html').send(ctx.pages.render(name, context, data));
}

/** The form, 400 when `fields` names refused fields. */
async function sendSubscribeForm(ctx: SubscriptionContext, req: Request, res: Response, lang: Lang, values: Record<string, unknown>, fields?: Record<string, string>) {
  const view = { lang, topics: await ctx.topics.listOpen(), values, fields, config: ctx.config, altchaWidget: ctx.altcha ? altchaWidgetHtml(lang) : '' };
  sendPage(ctx, req, res, 'subscribe', lang, 'pages.subscribe.title', presentSubscribeForm(view), fields ? 400 : 200);
}

// The address is repeated exactly as typed, so a typo can be seen and corrected.
function sendCheckInbox(ctx: SubscriptionContext, req: Request, res: Response, lang: Lang, typedEmail: string): void {
  sendPage(ctx, req, res, 'check-inbox', lang, 'pages.checkInbox.title', { formUrl: lang === 'en' ? '/subscribe?lang=en' : '/subscribe', typedEmail }, 202);
}

function subscriberLang(req: Request, subscriber: Subscriber | null): Lang {
  return typeof req.query.lang === 'string' ? toLang(req.query.lang) : toLang(subscriber?.lang);
}

function langSuffix(lang: Lang): string {
  return lang === 'en' ? '?lang=en' : '';
}

async function manageSubscriber(ctx: SubscriptionContext, token: string): Promise<Subscriber> {
  const subscriber = await ctx.subscriptions.subscriberForToken('manage', token);
  if (!subscriber) throw invalidToken();
  return subscriber;
}

/** GET /subscribe: the form; ?topic= preselects a section. */
export async function showSubscribeForm(ctx: SubscriptionContext, req: Request, res: Response): Promise<void> {
  const topic = typeof req.query.topic === 'string' ? req.query.topic : undefined;
  await sendSubscribeForm(ctx, req, res, pageLang(req), { topics: topic ? [topic] : [], source: req.query.embed === '1' ? 'embed' : 'form' });
}

/** GET /api/altcha/challenge: a fresh proof-of-work challenge; 404 while ALTCHA is off. */
export async function sendAltchaChallenge(ctx: SubscriptionContext, _req: Request, res: Response): Promise<void> {
  if (!ctx.altcha) throw notFound();
  res.set('Cache-Control', 'no-store').json(await ctx.altcha.challenge());
}

/** Before the form's validation: a filled honeypot is a bot, answered as if accepted while nothing changes. */
export function honeypot(ctx: SubscriptionContext): RequestHandler {
  return (req, res, next) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body.website !== 'string' || body.website === '') return next();
    sendCheckInbox(ctx, req, res, pageLang(req), String(body.email ?? '').slice(0, 254));
  };
}

/** POST /api/subscriptions from the HTML form: the check-your-inbox page (202). */
export async function subscribeFromForm(ctx: SubscriptionContext, input: SubscribeForm, req: Request, res: Response): Promise<void> {
  await ctx.altcha?.check((req.body as Record<string, unknown>).altcha);
  await ctx.subscriptions.subscribe({
    email: input.email,
    topics: input.topics ?? [],
    lang: input.lang,
    source: safeConsentSource(input.source, 'form'),
    frequency: input.frequency ?? 'immediate',
    ip: clientIp(req),
    userAgent: req.get('user-agent') ?? null,
  });
  sendCheckInbox(ctx, req, res, input.lang, input.email);
}

/** The form route's answer to refused input: the form again (400), as typed, the refused fields named. */
export async function redrawSubscribeForm(ctx: SubscriptionContext, fields: Record<string, string> | undefined, req: Request, res: Response): Promise<void> {
  const values = refusedFormValues((req.body ?? {}) as Record<string, unknown>);
  await sendSubscribeForm(ctx, req, res, pageLang(req), values, fields ?? { email: 'invalid' });
}

/** POST /api/subscriptions as JSON: 202 {"status":"pending"}. */
export async function subscribeFromJson(ctx: SubscriptionContext, input: SubscribeJson, req: Request, res: Response): Promise<void> {
  await ctx.altcha?.check((req.body as Record<string, unknown>).altcha);
  await ctx.subscriptions.subscribe({
    email: input.email,
    topics: input.topics,
    lang: input.lang,
    ...(input.frequency ? { frequency: input.frequency } : {}),
    source: safeConsentSource(req.get('x-powiadom-source'), 'api'),
    ip: clientIp(req),
    userAgent: req.get('user-agent') ?? null,
  });
  res.status(202).json({ status: 'pending' });
}

/** GET /confirm/:token: a page with one button; a GET never confirms (mail scanners follow links). */
export function showConfirm(ctx: SubscriptionContext, req: Request, res: Response, token: string): void {
  ctx.subscriptions.checkConfirmToken(token);
  const lang = pageLang(req);
  sendPage(ctx, req, res, 'confirm', lang, 'pages.confirm.title', { action: `/confirm/${token}${langSuffix(lang)}` });
}

/** POST /confirm/:token: completes the opt-in. */
export async function confirm(ctx: SubscriptionContext, req: Request, res: Response, token: string): Promise<void> {
  const result = await ctx.subscriptions.confirm(token, clientIp(req));
  const lang = pageLang(req);
  const version = await ctx.subscriptions.tokenVersionOf(result.subscriberId);
  sendPage(ctx, req, res, 'confirmed', lang, 'pages.confirmed.title', {
    alreadyConfirmed: result.alreadyConfirmed,
    preferencesUrl: ctx.links.preferences(result.subscriberId, lang, version).replace(ctx.config.PUBLIC_URL, ''),
  });
}

/** GET /preferences/:token; ?add=a,b (the already-subscribed e-mail's link) ticks those sections, saved only by the visitor. */
export async function showPreferences(ctx: SubscriptionContext, req: Request, res: Response, token: string): Promise<void> {
  const subscriber = await manageSubscriber(ctx, token);
  const lang = subscriberLang(req, subscriber);
  const added = typeof req.query.add === 'string' ? req.query.add.split(',').filter((slug) => /^[a-z0-9][a-z0-9-]{0,62}$/.test(slug)).slice(0, 100) : [];
  const shown = added.length > 0 ? { ...subscriber, topics: [...new Set([...subscriber.topics, ...added])] } : subscriber;
  const view = { token, subscriber: shown, lang, topics: await ctx.topics.listOpen(), config: ctx.config };
  sendPage(ctx, req, res, 'preferences', lang, 'pages.preferences.title', presentPreferences(view, { saved: req.query.saved === '1', added: added.length > 0 }));
}

/** GET /preferences/:token/erase: the second step of "delete all my data" — a confirmation page. */
export async function showErase(ctx: SubscriptionContext, req: Request, res: Response, token: string): Promise<void> {
  const lang = subscriberLang(req, await manageSubscriber(ctx, token));
  const suffix = langSuffix(lang);
  sendPage(ctx, req, res, 'erase-confirm', lang, 'pages.eraseConfirm.title', { eraseAction: `/preferences/${token}/erase${suffix}`, preferencesUrl: `/preferences/${token}${suffix}` });
}

/** POST /preferences/:token: saves topics and language, then shows the page again (303); refused topics redraw it (400). */
export async function savePreferences(ctx: SubscriptionContext, req: Request, res: Response, token: string, input: PreferencesForm): Promise<void> {
  try {
    const subscriber = await ctx.subscriptions.updatePreferences(token, input);
    res.redirect(303, `/preferences/${token}?saved=1${subscriber.lang === 'en' ? '&lang=en' : ''}`);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    const subscriber = await manageSubscriber(ctx, token);
    const shown = { ...subscriber, topics: input.topics, lang: input.lang, frequency: input.frequency ?? subscriber.frequency };
    const view = { token, subscriber: shown, lang: toLang(input.lang), topics: await ctx.topics.listOpen(), config: ctx.config };
    sendPage(ctx, req, res, 'preferences', view.lang, 'pages.preferences.title', presentRefusedPreferences(view), 400);
  }
}

/** POST /preferences/:token/unsubscribe */
export async function unsubscribeFromPreferences(ctx: SubscriptionContext, req: Request, res: Response, token: string): Promise<void> {
  const subscriber = await ctx.subscriptions.subscriberForToken('manage', token);
  await ctx.subscriptions.unsubscribe('manage', token, 'preferences-page');
  sendUnsubscribed(ctx, req, res, subscriberLang(req, subscriber));
}

/** POST /preferences/:token/erase: GDPR erasure, only with confirm=yes from the confirmation page. */
export async function erase(ctx: SubscriptionContext, req: Request, res: Response, token: string): Promise<void> {
  if ((req.body as Record<string, unknown> | undefined)?.confirm !== 'yes') return showErase(ctx, req, res, token);
  const subscriber = await manageSubscriber(ctx, token);
  await ctx.subscriptions.eraseByToken(token);
  sendPage(ctx, req, res, 'erased', subscriberLang(req, subscriber), 'pages.erased.title', {});
}

/** GET /preferences/:token/export: everything stored about the subscriber, as JSON. */
export async function exportData(ctx: SubscriptionContext, _req: Request, res: Response, token: string): Promise<void> {
  const data = await ctx.subscriptions.exportData(token);
  res.set('Content-Disposition', 'attachment; filename="powiadom-dane.json"').set('Cache-Control', 'no-store').json(data);
}

/** GET /unsubscribe/:token: a page with one button. */
export async function showUnsubscribe(ctx: SubscriptionContext, req: Request, res: Response, token: string): Promise<void> {
  const lang = subscriberLang(req, await ctx.subscriptions.subscriberForToken('unsubscribe', token));
  sendPage(ctx, req, res, 'unsubscribe', lang, 'pages.unsubscribe.title', { action: `/unsubscribe/${token}${langSuffix(lang)}` });
}

/**
 * POST /unsubscribe/:token: RFC 8058 one-click target and the page's button. Always 200 (never a
 * redirect), idempotent, no cookie or authentication needed.
 */
export async function unsubscribe(ctx: SubscriptionContext, req: Request, res: Response, token: string): Promise<void> {
  const oneClick = (req.body as Record<string, unknown> | undefined)?.['List-Unsubscribe'] === 'One-Click';
  const subscriber = await ctx.subscriptions.subscriberForToken('unsubscribe', token);
  await ctx.subscriptions.unsubscribe('unsubscribe', token, oneClick ? 'one-click' : 'unsubscribe-page');
  sendUnsubscribed(ctx, req, res, subscriberLang(req, subscriber));
}

function sendUnsubscribed(ctx: SubscriptionContext, req: Request, res: Response, lang: Lang): void {
  sendPage(ctx, req, res, 'unsubscribed', lang, 'pages.unsubscribed.title', { subscribeUrl: lang === 'en' ? '/subscribe?lang=en' : '/subscribe' });
}
