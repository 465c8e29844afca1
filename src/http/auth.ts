import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { RateLimiterRes, type RateLimiterRedis } from 'rate-limiter-flexible';
import { rateLimited, unauthorized } from '../errors.ts';
import { clientIp, rateLimitKey } from './request-info.ts';

/** Constant-time comparison of a presented secret with the expected one (hashes equalise lengths). */
export function secretsMatch(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The bearer token of a request, or null. */
export function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1] ?? null;
}

/** The user and password of `Authorization: Basic …`, or null. */
export function basicCredentials(header: string | undefined): { user: string; password: string } | null {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** The secret a request presents: a bearer token, or (when allowed) the password of Basic user `admin`. */
function presentedSecret(header: string | undefined, allowBasic: boolean): string | null {
  const bearer = bearerToken(header);
  if (bearer || !allowBasic) return bearer;
  const basic = basicCredentials(header);
  return basic && basic.user === 'admin' ? basic.password : null;
}

function requireSecret(tokens: (string | undefined)[], failures: RateLimiterRedis, allowBasic: boolean): RequestHandler {
  const accepted = tokens.filter((t): t is string => Boolean(t));
  const challenge = allowBasic ? 'Basic realm="powiadom", charset="UTF-8"' : 'Bearer realm="powiadom"';
  return async (req, _res, next) => {
    const ip = rateLimitKey(clientIp(req));
    try {
      // A valid token always works: only failures are limited, so nobody can lock out the operators
      // or Prometheus by sending wrong tokens (behind a proxy without TRUST_PROXY all share one IP).
      const presented = presentedSecret(req.headers.authorization, allowBasic);
      if (presented && accepted.some((t) => secretsMatch(presented, t))) return next();
      const state = await failures.get(ip);
      if (state && state.remainingPoints <= 0) return next(rateLimited(state.msBeforeNext / 1000));
      await failures.consume(ip).catch((err: unknown) => {
        if (!(err instanceof RateLimiterRes)) throw err;
      });
      next(unauthorized({ 'WWW-Authenticate': challenge }));
    } catch (err) {
      next(err);
    }
  };
}

/**
 * Requires `Authorization: Bearer <one of tokens>`. Disabled (always 401) while no token is set.
 * A valid token always passes; after repeated failures from one IP (IPv6: one /64) wrong ones get 429.
 */
export function requireBearer(tokens: (string | undefined)[], failures: RateLimiterRedis): RequestHandler {
  return requireSecret(tokens, failures, false);
}

/**
 * For admin pages opened in a browser (/admin/queues, /admin/templates): HTTP Basic with user `admin`
 * and ADMIN_TOKEN as password, or the same Bearer token; a 401 asks the browser for Basic credentials.
 * Shares requireBearer's failure limit.
 */
export function requireBasicAdmin(token: string | undefined, failures: RateLimiterRedis): RequestHandler {
  return requireSecret([token], failures, true);
}

/** requireBasicAdmin for a list of accepted tokens (any of them may be the Basic password). */
export function requireAdminBrowser(tokens: (string | undefined)[], failures: RateLimiterRedis): RequestHandler {
  return requireSecret(tokens, failures, true);
}
