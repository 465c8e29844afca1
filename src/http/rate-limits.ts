import type { RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { rateLimited } from '../errors.ts';
import { clientIp, rateLimitKey } from './request-info.ts';

/** The rate limiters of the HTTP layer, stored in Redis so every API process shares them. */
export interface Limiters {
  /** subscription requests per IP per hour */
  subscribe: RateLimiterRedis;
  /** failed admin authentications per IP per 15 minutes */
  adminFailures: RateLimiterRedis;
}

/** Creates the limiters; a memory limiter stands in while Redis is unreachable. */
export function createLimiters(redis: Redis, prefix: string, subscribePerHour: number): Limiters {
  const make = (keyPrefix: string, points: number, duration: number) =>
    new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${prefix}:rl:${keyPrefix}`,
      points,
      duration,
      insuranceLimiter: new RateLimiterMemory({ points, duration }),
    });
  return {
    subscribe: make('subscribe', subscribePerHour, 3600),
    adminFailures: make('admin-fail', 20, 900),
  };
}

/** Consumes one point per request for the client's IP (IPv6: its /64); 429 with Retry-After when exhausted. */
export function limitPerIp(limiter: RateLimiterRedis): RequestHandler {
  return async (req, _res, next) => {
    try {
      await limiter.consume(rateLimitKey(clientIp(req)));
      next();
    } catch (err) {
      if (err instanceof RateLimiterRes) next(rateLimited(err.msBeforeNext / 1000));
      else next(err);
    }
  };
}
