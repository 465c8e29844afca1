import { createHmac } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { ADMIN_TOKEN_ACTOR, type Actor } from '../core/audit.ts';
import { roleAllows, type OperatorService, type Role } from '../core/operators.ts';
import { AppError } from '../errors.ts';
import { requireBasicAdmin, secretsMatch } from '../http/auth.ts';
import type { Limiters } from '../http/rate-limits.ts';
import { readCookie, type CookieNames } from './session-cookie.ts';

/** Middlewares of console routes by what they need: a reader, an operator, an admin, each acting or not. */
export interface ConsoleGuards {
  read: RequestHandler[];
  act: (role: 'viewer' | 'operator' | 'admin') => RequestHandler[];
}

/** What the console's middleware leaves in res.locals.console for handlers. */
export interface ConsoleLocals {
  actor: Actor;
  /** the token every state-changing form must carry */
  csrf: string;
  /** the session cookie's value; null for the break-glass ADMIN_TOKEN */
  sessionId: string | null;
}

/** 403: signed in, but the role does not allow this, or the form's CSRF token or origin is wrong. */
export const forbidden = (message = 'You may not do this.') => new AppError(403, 'unauthorized', message);

/** The console's locals of a request (set by authenticate). */
export function consoleLocals(res: Response): ConsoleLocals {
  return res.locals.console as ConsoleLocals;
}

/** CSRF token of the break-glass account (it has no session): derived from SECRET, stable. */
export function adminTokenCsrf(secret: string): string {
  return createHmac('sha256', secret).update('console-csrf:admin-token').digest('base64url');
}

/** Settings the console's authentication needs. */
export interface AuthSettings {
  operators: OperatorService;
  cookies: CookieNames;
  adminToken: string | undefined;
  secret: string;
  limiters: Limiters;
}

/**
 * Resolves who is asking: a live session (cookie), else `Authorization: Basic admin:<ADMIN_TOKEN>` (or
 * Bearer) as the break-glass account. Without either, a console page redirects to sign-in, while
 * `challenge` routes (Bull Board, template previews) answer 401 with a Basic challenge as before.
 */
export function authenticate(settings: AuthSettings, mode: 'redirect' | 'challenge'): RequestHandler {
  const basic = requireBasicAdmin(settings.adminToken, settings.limiters.adminFailures);
  return async (req, res, next) => {
    try {
      const sessionId = readCookie(req, settings.cookies.session);
      const operator = sessionId ? await settings.operators.session(sessionId) : null;
      if (operator && sessionId) {
        res.locals.console = { actor: { label: operator.email, operatorId: operator.id, role: operator.role }, csrf: operator.csrf_token, sessionId } satisfies ConsoleLocals;
        return next();
      }
      if (!req.headers.authorization && mode === 'redirect') return res.redirect(303, signInUrl(req));
      basic(req, res, (err?: unknown) => {
        if (err) return next(err);
        res.locals.console = { actor: ADMIN_TOKEN_ACTOR, csrf: adminTokenCsrf(settings.secret), sessionId: null } satisfies ConsoleLocals;
        next();
      });
    } catch (err) {
      next(err);
    }
  };
}

function signInUrl(req: Request): string {
  const params = new URLSearchParams();
  if (req.method === 'GET' && req.originalUrl !== '/admin') params.set('next', req.originalUrl);
  if (req.query.lang === 'en') params.set('lang', 'en');
  const query = params.toString();
  return `/admin/sign-in${query ? `?${query}` : ''}`;
}

/** Refuses (403) an actor whose role is below `needed`. */
export function requireRole(needed: Role): RequestHandler {
  return (_req, res, next) => (roleAllows(consoleLocals(res).actor.role, needed) ? next() : next(forbidden('Your role does not allow this.')));
}

/**
 * The request comes from a page of this service: Origin equals PUBLIC_URL's origin. Under our
 * `Referrer-Policy: no-referrer` browsers send `Origin: null` for form posts, so then (and without an
 * Origin) Sec-Fetch-Site must be same-origin or none. A client that sends neither header (curl) is let
 * through to the CSRF token check; `Origin: null` without Sec-Fetch-Site is refused.
 */
export function isSameOrigin(req: Request, publicUrl: string): boolean {
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== 'null') return origin === new URL(publicUrl).origin;
  const site = req.headers['sec-fetch-site'];
  if (site === undefined) return origin === undefined;
  return site === 'same-origin' || site === 'none';
}

/** Every state-changing console request: same origin and the session's CSRF token in the form's `_csrf`. */
export function requireCsrf(publicUrl: string): RequestHandler {
  return (req, res, next) => {
    const presented = (req.body as { _csrf?: unknown } | undefined)?._csrf;
    const ok = isSameOrigin(req, publicUrl) && typeof presented === 'string' && secretsMatch(presented, consoleLocals(res).csrf);
    next(ok ? undefined : forbidden('The form has expired or came from another site. Open the page again and retry.'));
  };
}
