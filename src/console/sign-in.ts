import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { hashToken, type Role } from '../core/operators.ts';
import { rateLimited } from '../errors.ts';
import { secretsMatch } from '../http/auth.ts';
import { clientIp } from '../http/request-info.ts';
import { consoleLocals, forbidden, isSameOrigin } from './auth.ts';
import { consoleLang, sendPage, type ConsoleContext } from './context.ts';
import { consoleHref } from './render.ts';
import { clearCookie, readCookie, setCookie } from './session-cookie.ts';

/** Where to go after signing in: only a console path of this site, never another origin. */
export function safeNext(value: unknown): string | null {
  return typeof value === 'string' && /^\/admin(\/[^\s\\]*)?(\?[^\s\\]*)?$/.test(value) && !value.startsWith('//') ? value : null;
}

/** The sign-in form's CSRF token: a random value in a cookie, repeated in the form (double submit). */
export function signInToken(ctx: ConsoleContext, req: Request, res: Response): string {
  const existing = readCookie(req, ctx.cookies.signIn);
  if (existing && /^[A-Za-z0-9_-]{43}$/.test(existing)) return existing;
  const token = randomBytes(32).toString('base64url');
  setCookie(res, ctx.cookies, ctx.cookies.signIn, token);
  return token;
}

/** Milliseconds to wait when this account or IP has used up its failures, else null. */
export async function limitReached(ctx: ConsoleContext, ip: string, account: string): Promise<number | null> {
  const [byIp, byAccount] = await Promise.all([ctx.signInLimits.perIp.get(ip), ctx.signInLimits.perAccount.get(account)]);
  const blocked = [byIp, byAccount].filter((s) => s && s.remainingPoints <= 0).map((s) => s!.msBeforeNext);
  return blocked.length > 0 ? Math.max(...blocked) : null;
}

/** Counts a failed sign-in step (password or code) against the account and the IP. */
export async function countFailure(ctx: ConsoleContext, ip: string, account: string): Promise<void> {
  const swallow = (err: unknown) => {
    if (!(err instanceof RateLimiterRes)) throw err;
  };
  await Promise.all([ctx.signInLimits.perIp.consume(ip).catch(swallow), ctx.signInLimits.perAccount.consume(account).catch(swallow)]);
}

/** Ends any previous session, starts a new one (rotation), records the sign-in and goes where the form asked. */
export async function startOperatorSession(ctx: ConsoleContext, req: Request, res: Response, operator: { id: number; email: string; role: Role }, detail: Record<string, unknown>): Promise<void> {
  const old = readCookie(req, ctx.cookies.session);
  if (old) await ctx.operators.endSession(old);
  setCookie(res, ctx.cookies, ctx.cookies.session, await ctx.operators.startSession(operator.id, req.get('user-agent') ?? null));
  clearCookie(res, ctx.cookies, ctx.cookies.signIn);
  await ctx.audit.record({ label: operator.email, operatorId: operator.id, role: operator.role }, 'sign-in', { type: 'operator', id: operator.id }, detail);
  await ctx.operators.purgeStaleSessions();
  res.redirect(303, safeNext((req.body as { next?: unknown }).next) ?? consoleHref('/admin', consoleLang(req)));
}

/** The password passed and TOTP is on: a challenge cookie (no session yet) and the page asking for the code. */
async function openSecondStep(ctx: ConsoleContext, req: Request, res: Response, operatorId: number): Promise<void> {
  const previous = readCookie(req, ctx.cookies.challenge);
  if (previous) await ctx.totp.dropChallenge(previous);
  setCookie(res, ctx.cookies, ctx.cookies.challenge, await ctx.totp.openChallenge(operatorId));
  const next = safeNext((req.body as { next?: unknown }).next);
  res.redirect(303, consoleHref('/admin/sign-in/code', consoleLang(req), { next: next ?? undefined }));
}

/** GET/POST /admin/sign-in, POST /admin/sign-out, GET/POST /admin/password/:token. */
export function signInHandlers(ctx: ConsoleContext) {
  const showForm = (req: Request, res: Response, status: number, data: Record<string, unknown> = {}) => {
    const next = safeNext(req.query.next ?? (req.body as { next?: unknown } | undefined)?.next);
    res.status(status);
    sendPage(ctx, req, res, 'sign-in', { title: 'signIn.title' }, { ...data, next, signInCsrf: signInToken(ctx, req, res) });
  };

  return {
    /** GET /admin/sign-in. */
    show(req: Request, res: Response) {
      showForm(req, res, 200);
    },

    /** POST /admin/sign-in: limits, password check, a new session (rotation), then the page asked for. */
    async signIn(req: Request, res: Response, body: { email: string; password: string; _csrf: string }) {
      const cookie = readCookie(req, ctx.cookies.signIn);
      if (!isSameOrigin(req, ctx.deps.config.PUBLIC_URL) || !cookie || !secretsMatch(body._csrf, cookie)) throw forbidden('The sign-in form has expired. Open it again.');
      const ip = clientIp(req) ?? 'unknown';
      const account = hashToken(body.email.trim().toLowerCase());
      const waitMs = await limitReached(ctx, ip, account);
      if (waitMs !== null) throw rateLimited(waitMs / 1000);
      const operator = await ctx.operators.verify(body.email, body.password);
      if (!operator) {
        await countFailure(ctx, ip, account);
        return showForm(req, res, 401, { failed: true, email: body.email });
      }
      // With TOTP on, the failure counter is kept until the code passes too: a known password must not
      // reset the limit on guessing codes.
      if (operator.totpSecret) return openSecondStep(ctx, req, res, operator.id);
      await ctx.signInLimits.perAccount.delete(account);
      await startOperatorSession(ctx, req, res, operator, {});
    },

    /** POST /admin/sign-out: ends the session server-side and drops the cookie. */
    async signOut(req: Request, res: Response) {
      const { sessionId, actor } = consoleLocals(res);
      if (sessionId) await ctx.operators.endSession(sessionId);
      clearCookie(res, ctx.cookies, ctx.cookies.session);
      await ctx.audit.record(actor, 'sign-out', actor.operatorId ? { type: 'operator', id: actor.operatorId } : null);
      res.redirect(303, consoleHref('/admin/sign-in', consoleLang(req), { done: 'signedOut' }));
    },

    /** GET /admin/password/:token: the form to set a password, or a page saying the link is spent. */
    async showPassword(req: Request, res: Response, token: string) {
      const usable = await ctx.operators.passwordLinkUsable(token);
      res.status(usable ? 200 : 410);
      sendPage(ctx, req, res, 'password', { title: 'password.title' }, { usable, token, signInCsrf: signInToken(ctx, req, res) });
    },

    /** POST /admin/password/:token: checks the password (length, common list) and spends the link. */
    async setPassword(req: Request, res: Response, token: string, body: { password: string; confirm: string; _csrf: string }) {
      const cookie = readCookie(req, ctx.cookies.signIn);
      if (!isSameOrigin(req, ctx.deps.config.PUBLIC_URL) || !cookie || !secretsMatch(body._csrf, cookie)) throw forbidden('The form has expired. Open the link again.');
      const outcome = body.password !== body.confirm ? 'mismatch' : await ctx.operators.setPassword(token, body.password);
      if (outcome === 'ok') return res.redirect(303, consoleHref('/admin/sign-in', consoleLang(req), { done: 'passwordSet' }));
      res.status(outcome === 'invalid_link' ? 410 : 400);
      sendPage(ctx, req, res, 'password', { title: 'password.title' }, { usable: outcome !== 'invalid_link', token, problem: outcome, signInCsrf: signInToken(ctx, req, res) });
    },
  };
}
