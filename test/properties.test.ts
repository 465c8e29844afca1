import { describe, it } from 'node:test';
import fc from 'fast-check';
import { emailProblem, hashEmail, MAX_ADDRESS_OCTETS, normalizeEmail } from '../src/core/email-address.ts';
import { TOKEN_LENGTH, TokenSigner, type TokenPurpose } from '../src/core/tokens.ts';
import { secretsMatch } from '../src/http/auth.ts';
import { articleSchema, subscribeFormSchema, subscribeJsonSchema } from '../src/http/schemas.ts';

// Property-based tests (fast-check) of input validation, address normalisation and link tokens.
const RUNS = { numRuns: 500 };
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const purposes: TokenPurpose[] = ['confirm', 'manage', 'unsubscribe'];
const purpose = fc.constantFrom(...purposes);
const subjectId = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const signer = new TokenSigner('property-secret-0123456789-0123456789');
const controlChar = fc.integer({ min: 0, max: 0x9f }).filter((c) => c < 0x20 || c >= 0x7f).map((c) => String.fromCharCode(c));

describe('e-mail address validation', () => {
  it('accepts every RFC-shaped address', () => {
    fc.assert(fc.property(fc.emailAddress(), (email) => emailProblem(email) === null), RUNS);
  });

  it('never throws, whatever the text', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => {
      const problem = emailProblem(text);
      return problem === null || typeof problem === 'string';
    }), RUNS);
  });

  it('refuses any address with a control character (CR/LF header injection included) anywhere', () => {
    fc.assert(fc.property(fc.emailAddress(), fc.nat(), controlChar, (email, at, c) => {
      const i = at % (email.length + 1);
      return emailProblem(email.slice(0, i) + c + email.slice(i)) !== null;
    }), RUNS);
  });

  it('refuses addresses longer than 254 octets and local parts longer than 64', () => {
    fc.assert(fc.property(fc.emailAddress(), fc.integer({ min: 1, max: 300 }), (email, extra) => {
      const [local, domain] = [email.slice(0, email.lastIndexOf('@')), email.slice(email.lastIndexOf('@') + 1)];
      const longLocal = `${local}${'a'.repeat(65)}@${domain}`;
      const longDomain = `${local}@${`${'b'.repeat(60)}.`.repeat(Math.ceil((MAX_ADDRESS_OCTETS + extra) / 61))}${domain}`;
      return emailProblem(longLocal) !== null && emailProblem(longDomain) !== null;
    }), RUNS);
  });

  it('refuses text without exactly the shape local@domain.tld', () => {
    const noAt = fc.string({ maxLength: 60 }).filter((s) => !s.includes('@'));
    fc.assert(fc.property(noAt, (text) => emailProblem(text) !== null), RUNS);
  });
});

describe('e-mail normalisation', () => {
  it('is idempotent and ignores case and surrounding blanks', () => {
    fc.assert(fc.property(fc.emailAddress(), fc.constantFrom('', ' ', '  '), (email, pad) => {
      const n = normalizeEmail(email);
      return normalizeEmail(n) === n && normalizeEmail(`${pad}${email.toUpperCase()}${pad}`) === n && n === n.trim().toLowerCase();
    }), RUNS);
  });

  it('hashes every spelling of one address to one suppression key, and different addresses apart', () => {
    fc.assert(fc.property(fc.emailAddress(), fc.emailAddress(), (a, b) => {
      const sameKey = hashEmail(a.toUpperCase()) === hashEmail(` ${a} `);
      const apart = normalizeEmail(a) === normalizeEmail(b) || hashEmail(a) !== hashEmail(b);
      return sameKey && apart && /^[0-9a-f]{64}$/.test(hashEmail(a));
    }), RUNS);
  });
});

describe('request schemas', () => {
  it('never throw on any JSON body, and accept only a valid address with consent true', () => {
    const body = fc.oneof(
      fc.jsonValue(),
      fc.record({ email: fc.oneof(fc.emailAddress(), fc.string(), fc.jsonValue()), consent: fc.jsonValue(), topics: fc.jsonValue(), lang: fc.jsonValue() }, { requiredKeys: [] }),
    );
    fc.assert(fc.property(body, (input) => {
      const parsed = subscribeJsonSchema.safeParse(input);
      if (!parsed.success) return true;
      return emailProblem(parsed.data.email) === null && parsed.data.consent === true && ['pl', 'en'].includes(parsed.data.lang);
    }), RUNS);
  });

  it('never throw on any form body, and require consent and a valid address', () => {
    const value = fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 3 }));
    const form = fc.record({ email: value, consent: value, topics: value, lang: value, source: value }, { requiredKeys: [] });
    fc.assert(fc.property(form, (input) => {
      const parsed = subscribeFormSchema.safeParse(input);
      if (!parsed.success) return true;
      return emailProblem(parsed.data.email) === null && parsed.data.consent === true;
    }), RUNS);
  });
});

describe('article URLs', () => {
  const article = (url: string, imageUrl?: string) => articleSchema.safeParse({ url, imageUrl, title: 'Komunikat', topics: ['komunikaty'] });
  const scheme = fc.oneof(
    fc.constantFrom('javascript', 'JaVaScRiPt', 'data', 'vbscript', 'file', 'ftp', 'mailto', 'blob'),
    fc.stringMatching(/^[a-z][a-z0-9+.-]{0,10}$/).filter((s) => s !== 'http' && s !== 'https'),
  );

  it('accept http(s) URLs', () => {
    fc.assert(fc.property(fc.webUrl({ validSchemes: ['http', 'https'] }), (url) => article(url, url).success), RUNS);
  });

  it('refuse every other scheme for the article and its image, however it is spelt or padded', () => {
    fc.assert(fc.property(scheme, fc.constantFrom('', ' ', '\t', '\n', '\u0000'), fc.string({ maxLength: 40 }), (s, pad, rest) => {
      const url = `${pad}${s}:${rest.includes('//') ? rest : `//${rest}`}`;
      return !article(url).success && !article('https://www.duw.pl/a', url).success;
    }), RUNS);
  });
});

describe('link tokens', () => {
  it('round-trip purpose, subject and expiry', () => {
    fc.assert(fc.property(purpose, subjectId, fc.option(fc.integer({ min: 1, max: 365 * 86_400 })), (p, id, ttl) => {
      const now = Date.UTC(2026, 10, 28);
      const token = signer.sign(p, id, ttl ?? undefined, now);
      const check = signer.verify(p, token, now);
      return token.length === TOKEN_LENGTH && check.ok && check.claims.subjectId === id && check.claims.purpose === p
        && (ttl === null ? check.claims.expiresAt === null : check.claims.expiresAt!.getTime() === Math.floor(now / 1000) * 1000 + ttl * 1000);
    }), RUNS);
  });

  it('fail after any change of any single character', () => {
    fc.assert(fc.property(purpose, subjectId, fc.nat(), fc.integer({ min: 1, max: 63 }), (p, id, at, shift) => {
      const token = signer.sign(p, id);
      const i = at % token.length;
      const replacement = BASE64URL[(BASE64URL.indexOf(token[i]!) + shift) % 64]!;
      return !signer.verify(p, token.slice(0, i) + replacement + token.slice(i + 1)).ok;
    }), { numRuns: 2000 });
  });

  it('fail when cut, extended, used for another purpose or signed with another secret', () => {
    const other = new TokenSigner('another-secret-0123456789-0123456789x');
    fc.assert(fc.property(purpose, purpose, subjectId, fc.integer({ min: 1, max: 38 }), fc.constantFrom(...BASE64URL), (p, q, id, cut, extra) => {
      const token = signer.sign(p, id);
      return !signer.verify(p, token.slice(0, -cut)).ok
        && !signer.verify(p, token + extra).ok
        && (p === q || !signer.verify(q, token).ok)
        && !other.verify(p, token).ok;
    }), RUNS);
  });

  it('refuse arbitrary text', () => {
    fc.assert(fc.property(purpose, fc.string({ unit: 'binary', maxLength: 80 }), (p, text) => !signer.verify(p, text).ok), RUNS);
  });
});

describe('admin token comparison', () => {
  it('matches exactly equal secrets only', () => {
    fc.assert(fc.property(fc.string({ minLength: 16 }), fc.string(), (expected, presented) =>
      secretsMatch(presented, expected) === (presented === expected) && secretsMatch(expected, expected)), RUNS);
  });
});
