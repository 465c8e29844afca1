import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { checkPage, launchChromium, startDeferredServer, tabUntil } from './helpers/browser.ts';
import { eventually, startHarness, type Harness } from './helpers/harness.ts';

// The self-hosted ALTCHA widget on the real form, in Chromium: the visitor solves the proof of work in
// the browser (its PBKDF2 worker), and the server accepts the form only with that solution.
let h: Harness;
let server: Awaited<ReturnType<typeof startDeferredServer>>;
let browser: Browser;
let page: Page;
let base: string;
const thirdParty: string[] = [];

before(async () => {
  server = await startDeferredServer();
  base = `http://127.0.0.1:${server.port}`;
  h = await startHarness({ label: 'altchabrowser', env: { PUBLIC_URL: base, ALTCHA_HMAC_KEY: 'altcha-browser-key-0123456789-0123456789' } });
  server.use(h.app);
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: { width: 360, height: 740 } })).newPage();
  page.on('request', (request) => {
    if (!request.url().startsWith(base) && !request.url().startsWith('data:') && !request.url().startsWith('blob:')) thirdParty.push(request.url());
  });
});
after(async () => {
  await browser?.close();
  await server?.close();
  await h?.close();
});

async function subscriberCount(email: string): Promise<number> {
  const { rows } = await h.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM subscribers WHERE email = $1', [email]);
  return rows[0]!.n;
}

async function fillForm(email: string): Promise<void> {
  await page.goto(`${base}/subscribe`);
  await page.fill('#email', email);
  await page.check('#topic-komunikaty');
  await page.check('#consent');
}

describe('ALTCHA proof of work in a browser (ALTCHA_HMAC_KEY set)', () => {
  it('is refused without the proof of work, and nothing is stored', async () => {
    await fillForm('bez.weryfikacji@example.pl');
    // the widget's own check would stop the browser: send the form as a bot would, without solving
    await page.evaluate(() => {
      const form = document.querySelector<HTMLFormElement>('form[action$="/api/subscriptions"]')!;
      form.noValidate = true;
      form.submit();
    });
    await page.waitForURL(`${base}/api/subscriptions`);
    assert.match(await page.locator('#error-summary').innerText(), /robot|weryfikac/i);
    assert.equal(await subscriberCount('bez.weryfikacji@example.pl'), 0);
  });

  it('is solved in the browser by keyboard, passes axe, and the subscription is accepted', async () => {
    await fillForm('z.weryfikacja@example.pl');
    await checkPage(page, 'subscribe-altcha-pl');
    await tabUntil(page, 'altcha-widget input[type=checkbox]');
    await page.keyboard.press('Space');
    const payload = await eventually(async () => page.locator('altcha-widget input[type=hidden][name=altcha]').inputValue(), 30_000, 'the proof of work solved');
    assert.ok(JSON.parse(Buffer.from(payload, 'base64').toString('utf8')).challenge, 'the widget sends its solution with the challenge');
    await page.click('button[type=submit]');
    await page.getByRole('heading', { name: 'Sprawdź skrzynkę e-mail' }).waitFor();
    assert.equal(await subscriberCount('z.weryfikacja@example.pl'), 1);
    await h.smtp.waitFor(1, 10_000);
    assert.deepEqual(thirdParty, [], 'the page requested nothing from another origin');
  });
});
