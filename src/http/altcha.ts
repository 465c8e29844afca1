import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Router } from 'express';
import type { Redis } from 'ioredis';
import { createChallenge, randomInt, verifySolution, type Challenge, type Payload } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/pbkdf2';
import { invalid } from '../errors.ts';

/**
 * Proof-of-work settings: PBKDF2-SHA-256 with 1,000 iterations per try and a secret counter below
 * 5,000, so a browser spends a fraction of a second and a bot pays the same for every request.
 */
const ALGORITHM = 'PBKDF2/SHA-256';
const COST = 1_000;
const MAX_COUNTER = 5_000;
const CHALLENGE_TTL_SECONDS = 600;
/** A payload larger than this is not ours (a real one is about 600 characters). */
const MAX_PAYLOAD_CHARS = 4_000;

/**
 * Self-hosted ALTCHA (no third party): signs challenges with ALTCHA_HMAC_KEY, verifies solutions
 * without re-deriving (the key signature), and refuses a solved challenge used twice (Redis SET NX).
 */
export class AltchaGuard {
  constructor(
    private readonly hmacKey: string,
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly difficulty = { cost: COST, maxCounter: MAX_COUNTER },
  ) {}

  /** A new signed challenge for the widget. */
  async challenge(now = Date.now()): Promise<Challenge> {
    return createChallenge({
      algorithm: ALGORITHM,
      cost: this.difficulty.cost,
      counter: randomInt(this.difficulty.maxCounter),
      deriveKey,
      expiresAt: Math.floor(now / 1000) + CHALLENGE_TTL_SECONDS,
      hmacSignatureSecret: this.hmacKey,
      hmacKeySignatureSecret: `${this.hmacKey}:key`,
    });
  }

  /** Throws 400 (field `altcha`) unless `payload` is a fresh, valid, unused solution. */
  async check(payload: unknown): Promise<void> {
    const decoded = decodePayload(payload);
    if (!decoded) throw refused();
    const result = await verifySolution({
      challenge: decoded.challenge,
      solution: decoded.solution,
      deriveKey,
      hmacSignatureSecret: this.hmacKey,
      hmacKeySignatureSecret: `${this.hmacKey}:key`,
    }).catch(() => null);
    if (!result?.verified) throw refused();
    const used = await this.redis.set(`${this.keyPrefix}:altcha:${decoded.challenge.parameters.nonce}`, '1', 'EX', CHALLENGE_TTL_SECONDS, 'NX');
    if (used !== 'OK') throw refused();
  }
}

const refused = () => invalid('The anti-bot check failed. Please try again.', { altcha: 'proof of work missing, invalid, expired or already used' });

/** The widget's base64 JSON payload, or null when it does not have the expected shape. */
function decodePayload(payload: unknown): Payload | null {
  if (typeof payload !== 'string' || payload.length === 0 || payload.length > MAX_PAYLOAD_CHARS) return null;
  try {
    const value = JSON.parse(Buffer.from(payload, 'base64').toString('utf8')) as Partial<Payload>;
    const params = value.challenge?.parameters;
    if (!params || typeof params.nonce !== 'string' || params.algorithm !== ALGORITHM || typeof value.solution !== 'object' || !value.solution) return null;
    return value as Payload;
  } catch {
    return null;
  }
}

/** The widget markup for the subscribe form's `{{{altchaWidget}}}` slot (no inline script or style). */
export function altchaWidgetHtml(lang: 'pl' | 'en', basePath = ''): string {
  return [
    `<link rel="stylesheet" href="${basePath}/static/altcha/altcha.css">`,
    `<script type="module" src="${basePath}/static/altcha-setup.js"></script>`,
    `<div class="field" id="altcha"><altcha-widget challenge="${basePath}/api/altcha/challenge" name="altcha" language="${lang}" workers="2"></altcha-widget></div>`,
  ].join('\n');
}

/**
 * Serves the self-hosted widget from node_modules (the CSP-friendly "external" build, its CSS, the
 * PBKDF2 worker and the Polish texts) under /static/altcha/.
 */
export function altchaStatic(): Router {
  const external = dirname(fileURLToPath(import.meta.resolve('altcha/external')));
  const dist = dirname(external);
  const files: Record<string, string> = {
    'altcha.js': `${external}/altcha.min.js`,
    'altcha.css': `${external}/altcha.css`,
    'pbkdf2-worker.js': `${dist}/workers/pbkdf2.js`,
    'i18n-pl.js': `${dist}/i18n/pl.js`,
  };
  const router = express.Router();
  for (const [name, path] of Object.entries(files)) {
    router.get(`/${name}`, (_req, res, next) => res.sendFile(path, { maxAge: '1d' }, (err) => err && next(err)));
  }
  return router;
}
