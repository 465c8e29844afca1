import express, { type ErrorRequestHandler, type Router } from 'express';
import { z } from 'zod';
import { OperatorService } from '../core/operators.ts';
import type { Deps } from '../deps.ts';
import { AppError, isConnectionError } from '../errors.ts';
import { asAppError } from '../http/domain-errors.ts';
import { requestLog } from '../http/request-log.ts';
import { mountRoutes, route, type RouteSpec } from '../http/route.ts';
import { authenticate, requireCsrf, requireRole, type ConsoleGuards } from './auth.ts';
import { consoleLang, createConsoleContext, sendPage, type ConsoleContext } from './context.ts';
import { articleRoutes } from './articles.ts';
import { sectionRoutes } from './sections.ts';
import { accountRoutes } from './account.ts';
import { signInCodeHandlers } from './sign-in-code.ts';
import { signInHandlers } from './sign-in.ts';
import { suppressionRoutes } from './suppressions.ts';
import { subscriberRoutes } from './subscribers.ts';
import { consolePageRoutes } from './pages.ts';
import { inboundRoutes } from './inbound.ts';
import { cookieNames } from './session-cookie.ts';

const form = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 200 });

const signInBody = z.object({ email: z.string().max(254), password: z.string().max(1024), _csrf: z.string().max(200), next: z.string().max(2000).optional(), lang: z.string().optional() });
const passwordBody = z.object({ password: z.string().max(1024), confirm: z.string().max(1024), _csrf: z.string().max(200), lang: z.string().optional() });
const codeBody = z.object({ code: z.string().max(40), _csrf: z.string().max(200), next: z.string().max(2000).optional(), lang: z.string().optional() });
const tokenParams = z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{20,100}$/) });

function guards(ctx: ConsoleContext): ConsoleGuards {
  const auth = authenticate({ operators: ctx.operators, cookies: ctx.cookies, adminToken: ctx.deps.config.ADMIN_TOKEN, secret: ctx.deps.config.SECRET, limiters: ctx.deps.limiters }, 'redirect');
  const csrf = requireCsrf(ctx.deps.config.PUBLIC_URL);
  return { read: [auth], act: (role) => [form, auth, csrf, requireRole(role)] };
}

function signInRoutes(ctx: ConsoleContext, g: ConsoleGuards): RouteSpec[] {
  const h = signInHandlers(ctx);
  const code = signInCodeHandlers(ctx);
  return [
    route({ method: 'get', path: '/sign-in', handler: (_i, req, res) => h.show(req, res) }),
    route({ method: 'post', path: '/sign-in', before: [form], body: signInBody, handler: (i, req, res) => h.signIn(req, res, i.body) }),
    route({ method: 'get', path: '/sign-in/code', handler: (_i, req, res) => code.show(req, res) }),
    route({ method: 'post', path: '/sign-in/code', before: [form], body: codeBody, handler: (i, req, res) => code.submit(req, res, i.body) }),
    route({ method: 'post', path: '/sign-out', before: g.act('viewer'), handler: (_i, req, res) => h.signOut(req, res) }),
    route({ method: 'get', path: '/password/:token', params: tokenParams, handler: (i, req, res) => h.showPassword(req, res, i.params.token) }),
    route({ method: 'post', path: '/password/:token', before: [form], params: tokenParams, body: passwordBody, handler: (i, req, res) => h.setPassword(req, res, i.params.token, i.body) }),
  ];
}

const ERROR_KEYS: Record<number, string> = { 400: 'invalid', 401: 'unauthorized', 403: 'forbidden', 404: 'notFound', 410: 'notFound', 429: 'rateLimited', 503: 'unavailable' };

/** Console errors as console pages (403, 404, 429…), in the page's language; 5xx logged. */
function consoleErrors(ctx: ConsoleContext): ErrorRequestHandler {
  return (err, req, res, next) => {
    const appError = asAppError(err) ?? (isConnectionError(err) ? new AppError(503, 'unavailable', 'Unavailable.') : null);
    if (!appError || res.headersSent) return next(err);
    if (appError.status >= 500) requestLog(req)?.error({ err }, 'console request failed');
    res.status(appError.status).set(appError.headers ?? {});
    const key = ERROR_KEYS[appError.status] ?? 'internal';
    sendPage(ctx, req, res, 'error', { title: 'error.title' }, { message: ctx.view.t(consoleLang(req), `error.${key}`), fields: appError.fields });
  };
}

/** The operators' console under /admin: sign-in, pages and actions, with its own error pages. */
export function consoleRouter(deps: Deps): Router {
  const ctx = createConsoleContext(deps);
  const g = guards(ctx);
  const router = express.Router();
  mountRoutes(router, [...signInRoutes(ctx, g), ...consolePageRoutes(ctx, g), ...subscriberRoutes(ctx, g), ...articleRoutes(ctx, g), ...sectionRoutes(ctx, g), ...suppressionRoutes(ctx, g), ...inboundRoutes(ctx, g), ...accountRoutes(ctx, g)]);
  router.use(consoleErrors(ctx));
  return router;
}

/** Session or Basic ADMIN_TOKEN for the older admin pages (Bull Board, template previews); 401 challenge otherwise. */
export function legacyAdminAuth(deps: Deps, role: 'viewer' | 'operator' | 'admin'): express.RequestHandler[] {
  const operators = new OperatorService(deps.pool, { idleSeconds: deps.config.CONSOLE_IDLE_MINUTES * 60, absoluteSeconds: deps.config.CONSOLE_SESSION_HOURS * 3600 });
  const auth = authenticate({ operators, cookies: cookieNames(deps.config.PUBLIC_URL), adminToken: deps.config.ADMIN_TOKEN, secret: deps.config.SECRET, limiters: deps.limiters }, 'challenge');
  return [auth, requireRole(role)];
}
