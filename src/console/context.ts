import type { Request, Response } from 'express';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import { AuditLog } from '../core/audit.ts';
import { OperatorTotp } from '../core/operator-totp.ts';
import { OperatorService } from '../core/operators.ts';
import type { Deps } from '../deps.ts';
import { toLang, type Lang } from '../i18n.ts';
import { consoleLocals } from './auth.ts';
import { ConsoleRenderer, type ConsolePage } from './render.ts';
import { cookieNames, type CookieNames } from './session-cookie.ts';

/** Failed sign-ins allowed per account and per IP in 15 minutes before further tries are refused. */
export const SIGN_IN_LIMITS = { perAccount: 10, perIp: 30, seconds: 900 } as const;

/** Failed sign-in counters in Redis (shared by every API process). */
export interface SignInLimiters {
  perAccount: RateLimiterRedis;
  perIp: RateLimiterRedis;
}

function createSignInLimiters(redis: Redis, prefix: string): SignInLimiters {
  const make = (name: string, points: number) =>
    new RateLimiterRedis({ storeClient: redis, keyPrefix: `${prefix}:rl:console-${name}`, points, duration: SIGN_IN_LIMITS.seconds, insuranceLimiter: new RateLimiterMemory({ points, duration: SIGN_IN_LIMITS.seconds }) });
  return { perAccount: make('account', SIGN_IN_LIMITS.perAccount), perIp: make('ip', SIGN_IN_LIMITS.perIp) };
}

/** Everything the console's handlers share, built once per app. */
export interface ConsoleContext {
  deps: Deps;
  view: ConsoleRenderer;
  operators: OperatorService;
  totp: OperatorTotp;
  audit: AuditLog;
  cookies: CookieNames;
  signInLimits: SignInLimiters;
}

/** Builds the console's shared parts from the application's dependencies. */
export function createConsoleContext(deps: Deps): ConsoleContext {
  const sessions = { idleSeconds: deps.config.CONSOLE_IDLE_MINUTES * 60, absoluteSeconds: deps.config.CONSOLE_SESSION_HOURS * 3600 };
  return {
    deps,
    view: ConsoleRenderer.create(),
    operators: new OperatorService(deps.pool, sessions),
    totp: new OperatorTotp(deps.pool, deps.config.SECRET),
    audit: new AuditLog(deps.pool),
    cookies: cookieNames(deps.config.PUBLIC_URL),
    signInLimits: createSignInLimiters(deps.limiterRedis, deps.config.QUEUE_PREFIX),
  };
}

/** The console's language: ?lang=en (also on form actions), else Polish. */
export function consoleLang(req: Request): Lang {
  return toLang(req.query.lang ?? (req.body as { lang?: unknown } | undefined)?.lang);
}

/** Sends a console page for a signed-in actor (no caching: pages show personal data). */
export function sendPage(ctx: ConsoleContext, req: Request, res: Response, name: string, page: Omit<ConsolePage, 'lang' | 'currentUrl' | 'actor' | 'csrf'>, data: Record<string, unknown> = {}): void {
  const locals = res.locals.console ? consoleLocals(res) : null;
  const html = ctx.view.render(name, { ...page, lang: consoleLang(req), currentUrl: req.originalUrl, actor: locals?.actor ?? null, csrf: locals?.csrf }, { query: req.query, ...data });
  res.set('Cache-Control', 'no-store').type('html').send(html);
}
