import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { Subscriber } from '../core/subscriptions.ts';
import { listTopics } from '../db/topic-queries.ts';
import type { Deps } from '../deps.ts';
import { AppError, invalidToken, notFound } from '../errors.ts';
import { toLang, translate, type Lang } from '../i18n.ts';
import { topicDisplayName } from '../core/topic-names.ts';
import { AltchaGuard, altchaWidgetHtml } from './altcha.ts';
import { clientIp, isFormPost, pageLang } from './request-info.ts';
import type { preferencesFormSchema, subscribeFormSchema, subscribeJsonSchema } from './schemas.ts';
import { subscribeFormSchema as formSchema, subscribeJsonSchema as jsonSchema } from './schemas.ts';
import { parseInput } from './validate.ts';
import { safeConsentSource } from '../core/consent-source.ts';
import { frequencyChoices } from './frequency-choices.ts';

type SubscribeJson = z.infer<typeof subscribeJsonSchema>;
type SubscribeForm = z.infer<typeof subscribeFormSchema>;
type PreferencesForm = z.infer<typeof preferencesFormSchema>;

const FIELD_ORDER = ['email', 'topics', 'lang', 'consent', 'altcha'] as const;

/** The URL the language switch should lead to: a POST's answer switches to the form itself. */
function pageUrl(req: Request): string {
  return req.method === 'GET' ? req.originalUrl : req.path.startsWith('/api/') ? '/subscribe' : req.path;
}

/** Handlers of the public subscription lifecycle: form, opt-in, preferences, unsubscribe, export. */
export function subscriptionHandlers(deps: Deps) {
  const { subscriptions, pages } = deps;
  // Optional proof of work on the form and the JSON API, on when ALTCHA_HMAC_KEY is set.
  const altcha = deps.config.ALTCHA_HMAC_KEY ? new AltchaGuard(deps.config.ALTCHA_HMAC_KEY, deps.redis, deps.config.QUEUE_PREFIX) : null;

  const page = (req: Request, res: Response, name: string, lang: Lang, titleKey: string, data: Record<string, unknown>, status = 200) => {
    res
      .status(status)
      .type('html')
      .send(pages.render(name, { lang, title: translate(lang, titleKey), currentUrl: pageUrl(req), embed: req.query.embed === '1' }, data));
  };

  const topicChoices = async (lang: Lang, checked: string[]) =>
    (await listTopics(deps.pool)).filter((t) => !t.archived_at).map((t) => ({ slug: t.slug, name: topicDisplayName(t, lang), checked: checked.includes(t.slug) }));

  const renderForm = async (req: Request, res: Response, lang: Lang, values: Record<string, unknown>, fields?: Record<string, string>) => {
    const checked = Array.isArray(values.topics) ? (values.topics as string[]) : [];
    const fieldErrors = Object.fromEntries(Object.keys(fields ?? {}).map((f) => [f.split('.')[0], translate(lang, `pages.errors.${f.split('.')[0]}`)]));
    const errors = FIELD_ORDER.filter((f) => fieldErrors[f]).map((f) => ({ field: f === 'topics' ? firstTopicId(checked) : f, message: fieldErrors[f] }));
    page(req, res, 'subscribe', lang, 'pages.subscribe.title', {
      topics: await topicChoices(lang, checked),
      values: { lang, ...values },
      fieldErrors,
      errors: errors.length ? errors : undefined,
      source: typeof values.source === 'string' ? values.source : 'form',
      frequencies: frequencyChoices(deps.config, lang, typeof values.frequency === 'string' ? values.frequency : 'immediate'),
      altchaWidget: altcha ? altchaWidgetHtml(lang) : '',
    }, fields ? 400 : 200);
  };

  const firstTopicId = (checked: string[]) => `topic-${checked[0] ?? 'aktualnosci'}`;

  const subscribeFromForm = async (req: Request, res: Response) => {
    const lang = pageLang(req);
    const body = (req.body ?? {}) as Record<string, unknown>;
    // A filled honeypot is a bot: answer as if accepted, change nothing.
    if (typeof body.website === 'string' && body.website !== '') return checkInbox(req, res, lang, String(body.email ?? '').slice(0, 254));
    let input: SubscribeForm;
    try {
      input = parseInput(formSchema, body);
      await altcha?.check(body.altcha);
      await subscriptions.subscribe({
        email: input.email,
        topics: input.topics ?? [],
        lang: input.lang,
        source: safeConsentSource(input.source, 'form'),
        frequency: input.frequency ?? 'immediate',
        ip: clientIp(req),
        userAgent: req.get('user-agent') ?? null,
      });
    } catch (err) {
      if (err instanceof AppError && err.status === 400) {
        const topics = body.topics === undefined ? [] : ([] as unknown[]).concat(body.topics).map(String);
        return renderForm(req, res, lang, { email: String(body.email ?? '').slice(0, 254), topics, consent: body.consent !== undefined, source: body.source, frequency: body.frequency }, err.fields ?? { email: 'invalid' });
      }
      throw err;
    }
    checkInbox(req, res, input.lang, input.email);
  };

  // The address is repeated exactly as typed, so a typo can be seen and corrected.
  const checkInbox = (req: Request, res: Response, lang: Lang, typedEmail: string) =>
    page(req, res, 'check-inbox', lang, 'pages.checkInbox.title', { formUrl: lang === 'en' ? '/subscribe?lang=en' : '/subscribe', typedEmail }, 202);

  const subscribeFromJson = async (req: Request, res: Response) => {
    const input: SubscribeJson = parseInput(jsonSchema, req.body ?? {});
    await altcha?.check((req.body as Record<string, unknown>).altcha);
    await subscriptions.subscribe({
      email: input.email,
      topics: input.topics,
      lang: input.lang,
      ...(input.frequency ? { frequency: input.frequency } : {}),
      source: safeConsentSource(req.get('x-powiadom-source'), 'api'),
      ip: clientIp(req),
      userAgent: req.get('user-agent') ?? null,
    });
    res.status(202).json({ status: 'pending' });
  };

  const subscriberLang = (req: Request, subscriber: Subscriber | null): Lang =>
    typeof req.query.lang === 'string' ? toLang(req.query.lang) : toLang(subscriber?.lang);

  const preferencesData = async (token: string, subscriber: Subscriber, lang: Lang, extra: Record<string, unknown> = {}) => ({
    subscriber,
    statusText: translate(lang, `pages.preferences.status${subscriber.status[0]!.toUpperCase()}${subscriber.status.slice(1)}`),
    unsubscribed: subscriber.status === 'unsubscribed',
    topics: await topicChoices(lang, subscriber.topics),
    frequencies: frequencyChoices(deps.config, lang, subscriber.frequency),
    action: `/preferences/${token}${lang === 'en' ? '?lang=en' : ''}`,
    unsubscribeAction: `/preferences/${token}/unsubscribe${lang === 'en' ? '?lang=en' : ''}`,
    eraseAction: `/preferences/${token}/erase${lang === 'en' ? '?lang=en' : ''}`,
    exportUrl: `/preferences/${token}/export`,
    subscribeUrl: lang === 'en' ? '/subscribe?lang=en' : '/subscribe',
    ...extra,
  });

  return {
    /** GET /subscribe: the form; ?topic= preselects a section. */
    async showForm(req: Request, res: Response) {
      const lang = pageLang(req);
      const topic = typeof req.query.topic === 'string' ? req.query.topic : undefined;
      await renderForm(req, res, lang, { topics: topic ? [topic] : [], source: req.query.embed === '1' ? 'embed' : 'form' });
    },

    /** GET /api/altcha/challenge: a fresh proof-of-work challenge; 404 while ALTCHA is off. */
    async altchaChallenge(_req: Request, res: Response) {
      if (!altcha) throw notFound();
      res.set('Cache-Control', 'no-store').json(await altcha.challenge());
    },

    /** POST /api/subscriptions: JSON → 202 {"status":"pending"}; form → the check-your-inbox page. */
    async subscribe(req: Request, res: Response) {
      if (isFormPost(req)) await subscribeFromForm(req, res);
      else await subscribeFromJson(req, res);
    },

    /** GET /confirm/:token: a page with one button; a GET never confirms (mail scanners follow links). */
    showConfirm(req: Request, res: Response, token: string) {
      subscriptions.checkConfirmToken(token);
      const lang = pageLang(req);
      page(req, res, 'confirm', lang, 'pages.confirm.title', { action: `/confirm/${token}${lang === 'en' ? '?lang=en' : ''}` });
    },

    /** POST /confirm/:token: completes the opt-in. */
    async confirm(req: Request, res: Response, token: string) {
      const result = await subscriptions.confirm(token, clientIp(req));
      const lang = pageLang(req);
      page(req, res, 'confirmed', lang, 'pages.confirmed.title', {
        alreadyConfirmed: result.alreadyConfirmed,
        preferencesUrl: deps.links.preferences(result.subscriberId, lang, await subscriptions.tokenVersionOf(result.subscriberId)).replace(deps.config.PUBLIC_URL, ''),
      });
    },

    /** GET /preferences/:token */
    async showPreferences(req: Request, res: Response, token: string) {
      const subscriber = await subscriptions.subscriberForToken('manage', token);
      if (!subscriber) throw invalidToken();
      const lang = subscriberLang(req, subscriber);
      // ?add=a,b (the already-subscribed e-mail's link): those sections are ticked, saved only by the visitor.
      const added = typeof req.query.add === 'string' ? req.query.add.split(',').filter((slug) => /^[a-z0-9][a-z0-9-]{0,62}$/.test(slug)).slice(0, 100) : [];
      const shown = added.length > 0 ? { ...subscriber, topics: [...new Set([...subscriber.topics, ...added])] } : subscriber;
      page(req, res, 'preferences', lang, 'pages.preferences.title', await preferencesData(token, shown, lang, { saved: req.query.saved === '1', added: added.length > 0 }));
    },

    /** GET /preferences/:token/erase: the second step of "delete all my data" — a confirmation page. */
    async showErase(req: Request, res: Response, token: string) {
      const subscriber = await subscriptions.subscriberForToken('manage', token);
      if (!subscriber) throw invalidToken();
      const lang = subscriberLang(req, subscriber);
      const suffix = lang === 'en' ? '?lang=en' : '';
      page(req, res, 'erase-confirm', lang, 'pages.eraseConfirm.title', { eraseAction: `/preferences/${token}/erase${suffix}`, preferencesUrl: `/preferences/${token}${suffix}` });
    },

    /** POST /preferences/:token: saves topics and language, then shows the page again (303). */
    async savePreferences(req: Request, res: Response, token: string, input: PreferencesForm) {
      try {
        const subscriber = await subscriptions.updatePreferences(token, input);
        res.redirect(303, `/preferences/${token}?saved=1${subscriber.lang === 'en' ? '&lang=en' : ''}`);
      } catch (err) {
        if (!(err instanceof AppError) || err.status !== 400 || !err.fields) throw err;
        const subscriber = await subscriptions.subscriberForToken('manage', token);
        if (!subscriber) throw invalidToken();
        const lang = toLang(input.lang);
        const shown = { ...subscriber, topics: input.topics, lang: input.lang, frequency: input.frequency ?? subscriber.frequency };
        const fieldErrors = { topics: translate(lang, 'pages.errors.topics') };
        const data = await preferencesData(token, shown, lang, { fieldErrors, errors: [{ field: 'topic-aktualnosci', message: fieldErrors.topics }] });
        page(req, res, 'preferences', lang, 'pages.preferences.title', data, 400);
      }
    },

    /** POST /preferences/:token/unsubscribe */
    async unsubscribeFromPreferences(req: Request, res: Response, token: string) {
      const subscriber = await subscriptions.subscriberForToken('manage', token);
      await subscriptions.unsubscribe('manage', token, 'preferences-page');
      const lang = subscriberLang(req, subscriber);
      page(req, res, 'unsubscribed', lang, 'pages.unsubscribed.title', { subscribeUrl: lang === 'en' ? '/subscribe?lang=en' : '/subscribe' });
    },

    /** POST /preferences/:token/erase: GDPR erasure, only with confirm=yes from the confirmation page. */
    async erase(req: Request, res: Response, token: string) {
      if ((req.body as Record<string, unknown> | undefined)?.confirm !== 'yes') return this.showErase(req, res, token);
      const subscriber = await subscriptions.subscriberForToken('manage', token);
      if (!subscriber) throw invalidToken();
      await subscriptions.eraseByToken(token);
      const lang = subscriberLang(req, subscriber);
      page(req, res, 'erased', lang, 'pages.erased.title', {});
    },

    /** GET /preferences/:token/export: everything stored about the subscriber, as JSON. */
    async exportData(_req: Request, res: Response, token: string) {
      const data = await subscriptions.exportData(token);
      res.set('Content-Disposition', 'attachment; filename="powiadom-dane.json"').set('Cache-Control', 'no-store').json(data);
    },

    /** GET /unsubscribe/:token: a page with one button. */
    async showUnsubscribe(req: Request, res: Response, token: string) {
      const subscriber = await subscriptions.subscriberForToken('unsubscribe', token);
      const lang = subscriberLang(req, subscriber);
      page(req, res, 'unsubscribe', lang, 'pages.unsubscribe.title', { action: `/unsubscribe/${token}${lang === 'en' ? '?lang=en' : ''}` });
    },

    /**
     * POST /unsubscribe/:token: RFC 8058 one-click target and the page's button. Always 200 (never a
     * redirect), idempotent, no cookie or authentication needed.
     */
    async unsubscribe(req: Request, res: Response, token: string) {
      const oneClick = (req.body as Record<string, unknown> | undefined)?.['List-Unsubscribe'] === 'One-Click';
      const subscriber = await subscriptions.subscriberForToken('unsubscribe', token);
      await subscriptions.unsubscribe('unsubscribe', token, oneClick ? 'one-click' : 'unsubscribe-page');
      const lang = subscriberLang(req, subscriber);
      page(req, res, 'unsubscribed', lang, 'pages.unsubscribed.title', { subscribeUrl: lang === 'en' ? '/subscribe?lang=en' : '/subscribe' });
    },
  };
}
