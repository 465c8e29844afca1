import type { Request, Response } from 'express';
import { hashToken } from '../core/operators.ts';
import { rateLimited } from '../errors.ts';
import { secretsMatch } from '../http/auth.ts';
import { clientIp } from '../http/request-info.ts';
import { forbidden, isSameOrigin } from './auth.ts';
import { consoleLang, sendPage, type ConsoleContext } from './context.ts';
import { consoleHref } from './render.ts';
import { clearCookie, readCookie } from './session-cookie.ts';
import { countFailure, limitReached, safeNext, signInToken, startOperatorSession } from './sign-in.ts';

/** GET/POST /admin/sign-in/code: the second step of a sign-in when the operator has TOTP on. */
export function signInCodeHandlers(ctx: ConsoleContext) {
  const showForm = (req: Request, res: Response, status: number, failed = false) => {
    const next = safeNext(req.query.next ?? (req.body as { next?: unknown } | undefined)?.next);
    res.status(status);
    sendPage(ctx, req, res, 'sign-in-code', { title: 'signInCode.title' }, { next, failed, signInCsrf: signInToken(ctx, req, res) });
  };
  const backToSignIn = (req: Request, res: Response) => {
    clearCookie(res, ctx.cookies, ctx.cookies.challenge);
    res.redirect(303, consoleHref('/admin/sign-in', consoleLang(req), { done: 'codeExpired' }));
  };
  const challenge = (req: Request) => readCookie(req, ctx.cookies.challenge);

  return {
    /** GET /admin/sign-in/code: the code form while the challenge lives, else back to the password form. */
    async show(req: Request, res: Response) {
      const token = challenge(req);
      if (!token || !(await ctx.totp.challengeOperator(token))) return backToSignIn(req, res);
      showForm(req, res, 200);
    },

    /** POST /admin/sign-in/code: limits as for passwords, then a TOTP or recovery code; only then a session. */
    async submit(req: Request, res: Response, body: { code: string; _csrf: string }) {
      const cookie = readCookie(req, ctx.cookies.signIn);
      if (!isSameOrigin(req, ctx.deps.config.PUBLIC_URL) || !cookie || !secretsMatch(body._csrf, cookie)) throw forbidden('The sign-in form has expired. Open it again.');
      const token = challenge(req);
      const waiting = token ? await ctx.totp.challengeOperator(token) : null;
      if (!token || !waiting) return backToSignIn(req, res);
      const ip = clientIp(req) ?? 'unknown';
      const account = hashToken(waiting.email);
      const waitMs = await limitReached(ctx, ip, account);
      if (waitMs !== null) throw rateLimited(waitMs / 1000);
      const passed = await ctx.totp.completeChallenge(token, body.code);
      if (!passed) {
        await countFailure(ctx, ip, account);
        await ctx.audit.record({ label: waiting.email, operatorId: waiting.id, role: waiting.role }, 'sign-in.code-refused', { type: 'operator', id: waiting.id });
        return showForm(req, res, 401, true);
      }
      await ctx.signInLimits.perAccount.delete(account);
      clearCookie(res, ctx.cookies, ctx.cookies.challenge);
      await startOperatorSession(ctx, req, res, passed.operator, { second_factor: passed.factor });
    },
  };
}
