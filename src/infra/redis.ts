import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../log.ts';

/**
 * Creates an ioredis connection. Producers (the API) fail fast while Redis is away
 * (no offline queue, one retry); workers wait for it indefinitely, as BullMQ's production guide says.
 */
export function createRedis(url: string, role: 'producer' | 'worker', extra: RedisOptions = {}): Redis {
  return new Redis(url, {
    ...(role === 'producer'
      ? { enableOfflineQueue: false, maxRetriesPerRequest: 1 }
      : { enableOfflineQueue: true, maxRetriesPerRequest: null }),
    retryStrategy: (times) => Math.max(Math.min(Math.exp(times), 20_000), 1_000),
    lazyConnect: false,
    ...extra,
  });
}

/** The connection BullMQ workers block on, its errors logged (it reconnects by itself). */
export function createWorkerRedis(url: string, log: Logger): Redis {
  const redis = createRedis(url, 'worker');
  redis.on('error', (err) => log.warn({ err: err.message }, 'worker Redis connection error'));
  return redis;
}
