import type { Redis } from 'ioredis';

/** Redis key holding the Unix time (ms) of the last canary e-mail the SMTP server accepted. */
function canaryKey(prefix: string): string {
  return `${prefix}:canary:last-success`;
}

/** Records a successful canary send, visible to every process's /metrics. */
export async function recordCanarySuccess(redis: Redis, prefix: string, at = Date.now()): Promise<void> {
  await redis.set(canaryKey(prefix), String(at));
}

/** The time of the last successful canary send, or null when there was none. */
export async function readCanarySuccess(redis: Redis, prefix: string): Promise<Date | null> {
  const value = await redis.get(canaryKey(prefix));
  return value ? new Date(Number(value)) : null;
}
