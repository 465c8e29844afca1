import type { Request, Response } from 'express';
import QRCode from 'qrcode';
import { z } from 'zod';
import type { TotpStatus } from '../core/operator-totp.ts';
import { hashToken } from '../core/operators.ts';
import { rateLimited } from '../errors.ts';
import { clientIp } from '../http/request-info.ts';
import { route, type RouteSpec } from '../http/route.ts';
import { consoleLocals, forbidden } from './auth.ts';
import { consoleLang, sendPage, type ConsoleContext } from './context.ts';
import { consoleHref } from './render.ts';
import type { ConsoleGuards } from './auth.ts';
import { countFailure, limitReached } from './sign-in.ts';

const csrfBody = z.object({ _csrf: z.string().max(200), lang: z.string().optional() });
const codeBody = csrfBody.extend({ code: z.string().max(40) });
const disableBody = codeBody.extend({ password: z.string().max(1024) });

/** The signed-in operator's id; the break-glass ADMIN_TOKEN has no account to secure. */
function operatorOf(res: Response): { id: number; email: string; role: 'viewer' | 'operator' | 'admin' } {
  const { actor } = consoleLocals(res);
  if (actor.operatorId === null) throw forbidden('The admin token has no account page.');
  return { id: actor.operatorId, email: actor.label, role: actor.role };
}

/** The QR code of an otpauth:// URI as inline SVG (presentation attributes only, so our CSP allows it). */
async function qrSvg(uri: string): Promise<string> {
  return QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}

async function showAccount(ctx: ConsoleContext, req: Request, res: Response, status = 200, problem?: string): Promise<void> {
  const { actor } = consoleLocals(res);
  const totp: TotpStatus | null = actor.operatorId === null ? null : await ctx.totp.status(actor.operatorId);
  const qr = totp?.state === 'pending' ? await qrSvg(totp.uri) : null;
  res.status(status);
  sendPage(ctx, req, res, 'account', { title: 'account.title' }, { totp, qr, problem, breakGlass: actor.operatorId === null });
}

/** Limits wrong codes and passwords on the account page like sign-in failures (per account and IP). */
async function guardAttempts(ctx: ConsoleContext, req: Request, email: string): Promise<{ fail: () => Promise<void> }> {
  const ip = clientIp(req) ?? 'unknown';
  const account = hashToken(email);
  const waitMs = await limitReached(ctx, ip, account);
  if (waitMs !== null) throw rateLimited(waitMs / 1000);
  return { fail: () => countFailure(ctx, ip, account) };
}

/** /admin/account: an operator's own account — turning the TOTP second factor on and off. */
export function accountRoutes(ctx: ConsoleContext, g: ConsoleGuards): RouteSpec[] {
  const back = (req: Request, res: Response, done?: string) => res.redirect(303, consoleHref('/admin/account', consoleLang(req), { done }));
  return [
    route({ method: 'get', path: '/account', before: g.read, handler: (_i, req, res) => showAccount(ctx, req, res) }),
    route({
      method: 'post',
      path: '/account/totp/start',
      before: g.act('viewer'),
      body: csrfBody,
      handler: async (_i, req, res) => {
        await ctx.totp.begin(operatorOf(res).id);
        back(req, res);
      },
    }),
    route({
      method: 'post',
      path: '/account/totp/confirm',
      before: g.act('viewer'),
      body: codeBody,
      handler: async (i, req, res) => {
        const operator = operatorOf(res);
        const attempts = await guardAttempts(ctx, req, operator.email);
        const codes = await ctx.totp.confirm(operator.id, i.body.code);
        if (!codes) return attempts.fail().then(() => showAccount(ctx, req, res, 400, 'codeWrong'));
        await ctx.audit.record(consoleLocals(res).actor, 'totp.enable', { type: 'operator', id: operator.id });
        sendPage(ctx, req, res, 'recovery-codes', { title: 'account.codesTitle' }, { codes });
      },
    }),
    route({
      method: 'post',
      path: '/account/totp/disable',
      before: g.act('viewer'),
      body: disableBody,
      handler: async (i, req, res) => {
        const operator = operatorOf(res);
        const attempts = await guardAttempts(ctx, req, operator.email);
        if (!(await ctx.totp.disableWithProof(operator.id, i.body.password, i.body.code))) return attempts.fail().then(() => showAccount(ctx, req, res, 400, 'proofWrong'));
        await ctx.audit.record(consoleLocals(res).actor, 'totp.disable', { type: 'operator', id: operator.id });
        back(req, res, 'totpOff');
      },
    }),
  ];
}
