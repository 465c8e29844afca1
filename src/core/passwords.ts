import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { dictionary } from '@zxcvbn-ts/language-common';

/** Shortest password accepted (NIST SP 800-63B asks for at least 8; staff accounts get more). */
export const MIN_PASSWORD_LENGTH = 12;
/** Longest password accepted (scrypt's cost grows with input; 256 is plenty for a passphrase). */
export const MAX_PASSWORD_LENGTH = 256;

// scrypt with N=2^15, r=8: 32 MiB and about 50–100 ms per hash; maxmem leaves room for the 32 MiB.
const PARAMS = { N: 32768, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;

// ~49,000 passwords most often seen in breaches (zxcvbn's list), lower-case.
const COMMON = new Set((dictionary['passwords-common'] as string[]).map((p) => p.toLowerCase()));

/** Why a new password is refused ('short', 'long', 'common'), or null when it is acceptable. */
export function passwordProblem(password: string, email?: string): 'short' | 'long' | 'common' | null {
  if ([...password].length < MIN_PASSWORD_LENGTH) return 'short';
  if (password.length > MAX_PASSWORD_LENGTH) return 'long';
  const lower = password.toLowerCase();
  const local = email?.split('@')[0]?.toLowerCase();
  if (COMMON.has(lower) || /^(.)\1*$/.test(lower) || (local && lower.includes(local))) return 'common';
  return null;
}

function derive(password: string, salt: Buffer, params: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, { ...params, maxmem: 128 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** Hashes a password with scrypt: `scrypt$N$r$p$salt$hash` (base64). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, PARAMS);
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64'), key.toString('base64')].join('$');
}

/** True when the password matches a stored hash (constant-time comparison). */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !salt || !hash || password.length > MAX_PASSWORD_LENGTH) return false;
  const expected = Buffer.from(hash, 'base64');
  const key = await derive(password, Buffer.from(salt, 'base64'), { N: Number(n), r: Number(r), p: Number(p) });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

let dummy: Promise<string> | null = null;

/** Spends the time of one verification when the account is unknown, so timing does not tell accounts apart. */
export async function verifyNothing(password: string): Promise<false> {
  await verifyPassword(password, await (dummy ??= hashPassword(randomBytes(16).toString('hex'))));
  return false;
}
