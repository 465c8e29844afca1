import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConfigError, parseConfig } from '../src/config.ts';
import { isDemoEnabled } from '../src/http/demo-handlers.ts';
import { ADMIN_TOKEN, startHarness, type Harness } from './helpers/harness.ts';

let h: Harness;
before(async () => {
  h = await startHarness({
    label: 'branding',
    workers: false,
    env: {
      DEMO: '1',
      ALLOWED_ORIGINS: 'https://www.duw.pl',
      BRAND_OFFICE_NAME: 'Urząd Testowy w Opolu',
      BRAND_LOGO_URL: 'https://cdn.example.pl/herb.svg',
      BRAND_PRIMARY_COLOR: '#7a1f1f',
    },
  });
});
after(async () => {
  await h.close();
});

/** Pages must pass the CSP: no style attributes, no inline scripts. */
function assertCspClean(html: string, what: string) {
  assert.doesNotMatch(html, /\sstyle="/, `${what} has a style attribute`);
  assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/, `${what} has an inline script`);
}

describe('branding', () => {
  it('refuses a primary colour that white text cannot be read on, or one that is not #rrggbb', () => {
    assert.throws(() => parseConfig({ BRAND_PRIMARY_COLOR: '#ffcc00' }), (err: Error) => err instanceof ConfigError && /BRAND_PRIMARY_COLOR: must have a contrast/.test(err.message));
    assert.throws(() => parseConfig({ BRAND_PRIMARY_COLOR: 'red' }), /BRAND_PRIMARY_COLOR/);
    assert.throws(() => parseConfig({ BRAND_LOGO_URL: 'javascript:alert(1)' }), /BRAND_LOGO_URL/);
    assert.equal(parseConfig({ BRAND_PRIMARY_COLOR: '#0b4f8a' }).BRAND_PRIMARY_COLOR, '#0b4f8a');
  });

  it('shows the configured office name and logo and links /theme.css with the colour', async () => {
    const page = await h.http.get('/subscribe');
    assert.match(page.text, /<span class="brand-office">Urząd Testowy w Opolu<\/span>/);
    assert.match(page.text, /<img src="https:\/\/cdn.example.pl\/herb.svg" alt=""/);
    assert.match(page.text, /<link rel="stylesheet" href="\/theme.css">/);
    assertCspClean(page.text, '/subscribe');
    const css = await h.http.get('/theme.css');
    assert.match(css.headers['content-type'] ?? '', /^text\/css/);
    assert.match(css.text, /--brand: #7a1f1f/);
  });
});

describe('widget', () => {
  it('serves /embed.js as cacheable JavaScript that other origins may load, with 304 on a matching ETag', async () => {
    const res = await h.http.get('/embed.js');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(res.headers['cache-control'], 'public, max-age=3600');
    assert.equal(res.headers['cross-origin-resource-policy'], 'cross-origin');
    assert.match(res.text, /data-powiadom/);
    const again = await h.http.get('/embed.js').set('If-None-Match', res.headers.etag!);
    assert.equal(again.status, 304);
    const css = await h.http.get('/embed.css');
    assert.match(css.headers['content-type'] ?? '', /^text\/css/);
    assert.equal(css.headers['cross-origin-resource-policy'], 'cross-origin');
  });

  it('serves the embedded form without header, posting back into the dialog, framable by ALLOWED_ORIGINS', async () => {
    const res = await h.http.get('/subscribe?embed=1&topic=dla-mediow');
    assert.doesNotMatch(res.text, /class="site-header"/);
    assert.match(res.text, /action="\/api\/subscriptions\?embed=1"/);
    assert.match(res.text, /name="source" value="embed"/);
    assert.match(res.text, /<script src="\/static\/embed-frame.js" defer><\/script>/);
    assert.match(res.headers['content-security-policy'] ?? '', /frame-ancestors 'self' https:\/\/www.duw.pl/);
    assertCspClean(res.text, '/subscribe?embed=1');
  });

  it('serves /demo with DEMO=1 (and only in development without it), loading the widget from PUBLIC_URL', async () => {
    const res = await h.http.get('/demo');
    assert.equal(res.status, 200);
    assert.match(res.text, /<h1>Wizyta Ambasadora Kazachstanu<\/h1>/);
    assert.match(res.text, /<script src="http:\/\/powiadom.test\/embed.js" data-topic="dla-mediow" async><\/script>/);
    assert.match(res.text, /data-powiadom>Powiadom<\/a>/);
    assert.match(res.headers['content-security-policy'] ?? '', /script-src 'self' http:\/\/powiadom.test/);
    assertCspClean(res.text, '/demo');
    assert.equal(isDemoEnabled(parseConfig({ NODE_ENV: 'test' })), false);
    assert.equal(isDemoEnabled(parseConfig({ NODE_ENV: 'development' })), true);
  });
});

describe('/admin/templates', () => {
  it('asks browsers for Basic credentials and accepts admin/ADMIN_TOKEN or the bearer token', async () => {
    const none = await h.http.get('/admin/templates').set('Accept', 'text/html');
    assert.equal(none.status, 401);
    assert.match(none.headers['www-authenticate'] ?? '', /^Basic realm="powiadom"/);
    const wrong = await h.http.get('/admin/templates').auth('admin', 'not-the-token-at-all');
    assert.equal(wrong.status, 401);
    const basic = await h.http.get('/admin/templates').auth('admin', ADMIN_TOKEN);
    assert.equal(basic.status, 200);
    assert.match(basic.text, /Podgląd szablonów e-mail/);
    assert.equal((basic.text.match(/<iframe /g) ?? []).length, 10);
    assertCspClean(basic.text, '/admin/templates');
    const bearer = await h.http.get('/admin/templates/welcome/en').set('Authorization', `Bearer ${ADMIN_TOKEN}`);
    assert.equal(bearer.status, 200);
    assert.match(bearer.text, /<html[^>]+lang="en"/);
    assert.match(bearer.headers['content-security-policy'] ?? '', /sandbox/);
  });
});
