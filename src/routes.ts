import express from 'express';
import type { Deps } from './deps.ts';
import { adminHandlers } from './http/admin-handlers.ts';
import { articleHandlers } from './http/article-handlers.ts';
import { auditedAdminApi } from './console/api-audit.ts';
import { legacyAdminAuth } from './console/router.ts';
import { AuditLog } from './core/audit.ts';
import { requireBearer } from './http/auth.ts';
import { demoHandlers, isDemoEnabled } from './http/demo-handlers.ts';
import { digestHandlers } from './http/digest-handlers.ts';
import { healthHandlers } from './http/health-handlers.ts';
import { opsHandlers } from './http/ops-handlers.ts';
import { limitPerIp } from './http/rate-limits.ts';
import { isFormPost } from './http/request-info.ts';
import { route, type RouteSpec } from './http/route.ts';
import { staticHandlers } from './http/static-handlers.ts';
import {
  articleListQuery,
  articleSchema,
  bounceSchema,
  digestListQuery,
  digestRunSchema,
  idParams,
  preferencesFormSchema,
  queueNameParams,
  subscribeFormSchema,
  subscribeJsonSchema,
  slugParams,
  subscriberSearchQuery,
  suppressionListQuery,
  suppressionParams,
  suppressionSchema,
  tokenParams,
  topicSchema,
} from './http/schemas.ts';
import * as subs from './http/subscription-handlers.ts';
import { suppressionHandlers } from './http/suppression-handlers.ts';
import { templatePreviewHandlers } from './http/template-previews.ts';
import { webhookHandlers } from './http/webhook-handlers.ts';
import { mailgunWebhookSchema } from './inbound/providers/mailgun.ts';
import { postmarkWebhookSchema } from './inbound/providers/postmark.ts';
import { visitorHandlers } from './http/visitor-handlers.ts';
import { defaultBrand } from './deps.ts';

/** Body parsers: 64 KiB for ordinary requests, 64 MiB for bulk imports. */
export const bodies = {
  json: express.json({ limit: '64kb' }),
  form: express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 200 }),
  bulk: [express.json({ limit: '64mb' }), express.text({ type: 'text/csv', limit: '64mb' })],
  /** SNS posts JSON as text/plain: read any type as text, parsed by the handler */
  sns: express.text({ type: () => true, limit: '256kb' }),
};

/** The one flat route table of the HTTP API and pages. */
export function routes(deps: Deps): RouteSpec[] {
  const admin = auditedAdminApi(requireBearer([deps.config.ADMIN_TOKEN], deps.limiters.adminFailures), new AuditLog(deps.pool), deps.log);
  const sc = subs.subscriptionContext(deps);
  const subscribeLimit = limitPerIp(deps.limiters.subscribe);
  const adm = adminHandlers(deps);
  const health = healthHandlers(deps);
  const art = articleHandlers(deps);
  const ops = opsHandlers(deps);
  const metricsAuth = requireBearer([deps.config.ADMIN_TOKEN, deps.config.METRICS_TOKEN], deps.limiters.adminFailures);
  const supp = suppressionHandlers(deps);
  const hooks = webhookHandlers(deps);
  const visit = visitorHandlers(deps);
  const dig = digestHandlers(deps);
  const page = { html: true };
  const { json, form, bulk } = bodies;
  const assets = staticHandlers(defaultBrand(deps.config));
  const demo = demoHandlers(deps.config, deps.pages);
  const previews = templatePreviewHandlers(deps.config, deps.pages);
  const adminPage = legacyAdminAuth(deps, 'viewer');

  return [
    route({ method: 'get', path: '/healthz', handler: (_i, req, res) => health.live(req, res) }),
    route({ method: 'get', path: '/readyz', handler: (_i, req, res) => health.ready(req, res) }),

    route({ method: 'get', path: '/api/topics', handler: (_i, req, res) => adm.listTopics(req, res) }),
    route({ method: 'post', path: '/api/topics', before: [admin, json], body: topicSchema, handler: (i, req, res) => adm.createTopic(req, res, i.body) }),
    route({ method: 'delete', path: '/api/topics/:slug', before: [admin], params: slugParams, handler: (i, req, res) => adm.deleteTopic(req, res, i.params.slug) }),

    // One path, two routes: the HTML form (its refused input redraws the form) and the JSON API.
    route({ method: 'post', path: '/api/subscriptions', accepts: isFormPost, ...page, before: [subscribeLimit, form, subs.honeypot(sc)], body: subscribeFormSchema, refused: (fields, req, res) => subs.redrawSubscribeForm(sc, fields, req, res), handler: (i, req, res) => subs.subscribeFromForm(sc, i.body, req, res) }),
    route({ method: 'post', path: '/api/subscriptions', before: [subscribeLimit, json], body: subscribeJsonSchema, handler: (i, req, res) => subs.subscribeFromJson(sc, i.body, req, res) }),
    route({ method: 'get', path: '/api/altcha/challenge', handler: (_i, req, res) => subs.sendAltchaChallenge(sc, req, res) }),
    route({ method: 'get', path: '/subscribe', ...page, handler: (_i, req, res) => subs.showSubscribeForm(sc, req, res) }),
    route({ method: 'get', path: '/confirm/:token', ...page, params: tokenParams, handler: (i, req, res) => subs.showConfirm(sc, req, res, i.params.token) }),
    route({ method: 'post', path: '/confirm/:token', ...page, before: [form], params: tokenParams, handler: (i, req, res) => subs.confirm(sc, req, res, i.params.token) }),
    route({ method: 'get', path: '/preferences/:token', ...page, params: tokenParams, handler: (i, req, res) => subs.showPreferences(sc, req, res, i.params.token) }),
    route({ method: 'post', path: '/preferences/:token', ...page, before: [form], params: tokenParams, body: preferencesFormSchema, handler: (i, req, res) => subs.savePreferences(sc, req, res, i.params.token, i.body) }),
    route({ method: 'post', path: '/preferences/:token/unsubscribe', ...page, before: [form], params: tokenParams, handler: (i, req, res) => subs.unsubscribeFromPreferences(sc, req, res, i.params.token) }),
    route({ method: 'post', path: '/preferences/:token/erase', ...page, before: [form], params: tokenParams, handler: (i, req, res) => subs.erase(sc, req, res, i.params.token) }),
    route({ method: 'get', path: '/preferences/:token/erase', ...page, params: tokenParams, handler: (i, req, res) => subs.showErase(sc, req, res, i.params.token) }),
    route({ method: 'get', path: '/preferences/:token/export', params: tokenParams, handler: (i, req, res) => subs.exportData(sc, req, res, i.params.token) }),
    route({ method: 'get', path: '/unsubscribe/:token', ...page, params: tokenParams, handler: (i, req, res) => subs.showUnsubscribe(sc, req, res, i.params.token) }),
    route({ method: 'post', path: '/unsubscribe/:token', ...page, before: [form], params: tokenParams, handler: (i, req, res) => subs.unsubscribe(sc, req, res, i.params.token) }),

    route({ method: 'get', path: '/manage', ...page, handler: (_i, req, res) => visit.showManage(req, res) }),
    route({ method: 'post', path: '/manage', ...page, before: [limitPerIp(deps.limiters.subscribe), form], handler: (_i, req, res) => visit.manageFromForm(req, res) }),
    route({ method: 'post', path: '/api/manage-link', before: [limitPerIp(deps.limiters.subscribe), json], handler: (_i, req, res) => visit.manageFromJson(req, res) }),
    route({ method: 'get', path: '/informacja-o-danych', ...page, handler: (_i, req, res) => visit.privacy(req, res, 'pl') }),
    route({ method: 'get', path: '/privacy', ...page, handler: (_i, req, res) => visit.privacy(req, res, 'en') }),
    route({ method: 'get', path: '/deklaracja-dostepnosci', ...page, handler: (_i, req, res) => visit.accessibility(req, res, 'pl') }),
    route({ method: 'get', path: '/accessibility', ...page, handler: (_i, req, res) => visit.accessibility(req, res, 'en') }),

    route({ method: 'get', path: '/embed.js', handler: (_i, req, res) => assets.embedScript(req, res) }),
    route({ method: 'get', path: '/embed.css', handler: (_i, req, res) => assets.embedStyles(req, res) }),
    route({ method: 'get', path: '/theme.css', handler: (_i, req, res) => assets.theme(req, res) }),
    ...(isDemoEnabled(deps.config) ? [route({ method: 'get', path: '/demo', ...page, handler: (_i, req, res) => demo.show(req, res) })] : []),
    route({ method: 'get', path: '/admin/templates', ...page, before: adminPage, handler: (_i, req, res) => previews.index(req, res) }),
    route({ method: 'get', path: '/admin/templates/:name/:lang', ...page, before: adminPage, handler: (_i, req, res) => previews.html(req, res) }),

    route({ method: 'get', path: '/api/subscribers', before: [admin], query: subscriberSearchQuery, handler: (i, req, res) => adm.findSubscribers(req, res, i.query.email) }),
    route({ method: 'delete', path: '/api/subscribers/:id', before: [admin], params: idParams, handler: (i, req, res) => adm.eraseSubscriber(req, res, i.params.id) }),
    route({ method: 'post', path: '/api/subscribers/:id/revoke-links', before: [admin], params: idParams, handler: (i, req, res) => adm.revokeLinks(req, res, i.params.id) }),
    route({ method: 'post', path: '/api/subscribers/import', before: [admin, ...bulk], handler: (_i, req, res) => adm.importSubscribers(req, res) }),

    route({ method: 'post', path: '/api/articles', before: [admin, json], body: articleSchema, handler: (i, req, res) => art.publish(req, res, i.body) }),
    route({ method: 'get', path: '/api/articles', before: [admin], query: articleListQuery, handler: (i, req, res) => art.list(req, res, i.query) }),
    route({ method: 'get', path: '/api/articles/:id', before: [admin], params: idParams, handler: (i, req, res) => art.get(req, res, i.params.id) }),

    route({ method: 'post', path: '/api/digests/run', before: [admin, json], body: digestRunSchema, handler: (i, req, res) => dig.run(req, res, i.body) }),
    route({ method: 'get', path: '/api/digests', before: [admin], query: digestListQuery, handler: (i, req, res) => dig.list(req, res, i.query) }),
    route({ method: 'get', path: '/api/digests/:id', before: [admin], params: idParams, handler: (i, req, res) => dig.get(req, res, i.params.id) }),

    route({ method: 'get', path: '/metrics', before: [metricsAuth], handler: (_i, req, res) => ops.metrics(req, res) }),
    route({ method: 'get', path: '/api/stats', before: [admin], handler: (_i, req, res) => ops.stats(req, res) }),
    route({ method: 'post', path: '/api/articles/:id/retry', before: [admin], params: idParams, handler: (i, req, res) => ops.retryArticle(req, res, i.params.id) }),
    route({ method: 'post', path: '/api/queues/:name/pause', before: [admin], params: queueNameParams, handler: (i, req, res) => ops.setPaused(req, res, i.params.name, true) }),
    route({ method: 'post', path: '/api/queues/:name/resume', before: [admin], params: queueNameParams, handler: (i, req, res) => ops.setPaused(req, res, i.params.name, false) }),

    route({ method: 'post', path: '/api/webhooks/bounce', before: [admin, json], body: bounceSchema, handler: (i, req, res) => supp.bounce(req, res, i.body) }),
    route({ method: 'post', path: '/api/webhooks/ses', before: [bodies.sns], handler: (_i, req, res) => hooks.ses(req, res) }),
    route({ method: 'post', path: '/api/webhooks/mailgun', before: [json], body: mailgunWebhookSchema, handler: (i, req, res) => hooks.mailgun(req, res, i.body) }),
    route({ method: 'post', path: '/api/webhooks/postmark', before: [json], body: postmarkWebhookSchema, handler: (i, req, res) => hooks.postmark(req, res, i.body) }),
    route({ method: 'get', path: '/api/suppressions', before: [admin], query: suppressionListQuery, handler: (i, req, res) => supp.list(req, res, i.query) }),
    route({ method: 'post', path: '/api/suppressions', before: [admin, json], body: suppressionSchema, handler: (i, req, res) => supp.create(req, res, i.body) }),
    route({ method: 'delete', path: '/api/suppressions/:email', before: [admin], params: suppressionParams, handler: (i, req, res) => supp.remove(req, res, i.params.email) }),
  ];
}
