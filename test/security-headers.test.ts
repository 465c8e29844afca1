import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHarness, type Harness } from './helpers/harness.ts';

// Security headers on every kind of answer, and CORS on the public API for ALLOWED_ORIGINS only.
const ALLOWED = 'https://www.duw.example';
const OTHER = 'https://evil.example';

let h: Harness;
before(async () => {
  h = await startHarness({ label: 'headers', workers: false, env: { ALLOWED_ORIGINS: `${ALLOWED}, https://bip.duw.example` } });
});
after(async () => {
  await h.close();
});

function directives(csp: string | undefined): Map<string, string[]> {
  return new Map((csp ?? '').split(';').map((d) => d.trim().split(/\s+/)).filter((d) => d[0]).map(([name, ...values]) => [name!, values]));
}

describe('security headers', () => {
  const answers = [
    ['the form', () => h.http.get('/subscribe')],
    ['a JSON answer', () => h.http.get('/api/topics')],
    ['a 404 page', () => h.http.get('/no-such-page')],
    ['an invalid-link page', () => h.http.get('/confirm/not-a-token')],
    ['a JSON error', () => h.http.post('/api/subscriptions').send({ email: 'x' })],
    ['a static file', () => h.http.get('/static/powiadom.css')],
  ] as const;

  for (const [what, request] of answers) {
    it(`sends a CSP without inline script, nosniff and no X-Powered-By on ${what}`, async () => {
      const res = await request();
      const csp = directives(res.headers['content-security-policy']);
      assert.deepEqual(csp.get('script-src'), ["'self'"]);
      assert.deepEqual(csp.get('object-src'), ["'none'"]);
      assert.ok(!(res.headers['content-security-policy'] ?? '').includes('unsafe-inline'), 'no unsafe-inline anywhere');
      assert.deepEqual(csp.get('frame-ancestors'), ["'self'", ALLOWED, 'https://bip.duw.example']);
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.equal(res.headers['x-powered-by'], undefined);
      assert.equal(res.headers['referrer-policy'], 'no-referrer');
    });
  }

  it('lets nobody but the office frame the form when ALLOWED_ORIGINS is empty', async () => {
    const plain = await startHarness({ label: 'headers2', workers: false });
    try {
      const res = await plain.http.get('/subscribe');
      assert.deepEqual(directives(res.headers['content-security-policy']).get('frame-ancestors'), ["'self'"]);
      const cors = await plain.http.get('/api/topics').set('Origin', ALLOWED);
      assert.equal(cors.headers['access-control-allow-origin'], undefined);
    } finally {
      await plain.close();
    }
  });
});

describe('CORS on the public API', () => {
  it('allows a listed origin to read topics', async () => {
    const res = await h.http.get('/api/topics').set('Origin', ALLOWED);
    assert.equal(res.status, 200);
    assert.equal(res.headers['access-control-allow-origin'], ALLOWED);
    assert.match(res.headers.vary ?? '', /Origin/);
    assert.equal(res.headers['access-control-allow-credentials'], undefined);
  });

  it('answers the preflight of a subscription from a listed origin', async () => {
    const res = await h.http
      .options('/api/subscriptions')
      .set('Origin', ALLOWED)
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'content-type');
    assert.equal(res.status, 204);
    assert.equal(res.headers['access-control-allow-origin'], ALLOWED);
    assert.match(res.headers['access-control-allow-methods'] ?? '', /POST/);
    assert.match(res.headers['access-control-allow-headers'] ?? '', /Content-Type/i);
    assert.doesNotMatch(res.headers['access-control-allow-headers'] ?? '', /Authorization/i);
  });

  it('lets a listed origin post a subscription and read the answer', async () => {
    const res = await h.http.post('/api/subscriptions').set('Origin', ALLOWED).send({ email: 'cors@example.pl', consent: true });
    assert.equal(res.status, 202);
    assert.equal(res.headers['access-control-allow-origin'], ALLOWED);
  });

  it('gives a foreign origin no CORS headers, on requests and preflights', async () => {
    const get = await h.http.get('/api/topics').set('Origin', OTHER);
    assert.equal(get.headers['access-control-allow-origin'], undefined);
    const preflight = await h.http.options('/api/subscriptions').set('Origin', OTHER).set('Access-Control-Request-Method', 'POST');
    assert.equal(preflight.headers['access-control-allow-origin'], undefined);
    assert.equal(preflight.headers['access-control-allow-methods'], undefined);
  });

  it('does not open the admin API or the pages to other origins', async () => {
    const admin = await h.http.options('/api/subscribers').set('Origin', ALLOWED).set('Access-Control-Request-Method', 'GET').set('Access-Control-Request-Headers', 'authorization');
    assert.equal(admin.headers['access-control-allow-origin'], undefined);
    const page = await h.http.get('/subscribe').set('Origin', ALLOWED);
    assert.equal(page.headers['access-control-allow-origin'], undefined);
  });
});
