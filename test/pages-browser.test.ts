import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Frame, Page } from 'playwright-core';
import { createApp } from '../src/app.ts';
import { assertFocusVisible, checkPage, launchChromium, startDeferredServer, tabUntil } from './helpers/browser.ts';
import { ADMIN_TOKEN, eventually, findLink, startHarness, type Harness } from './helpers/harness.ts';

let h: Harness;
let server: Awaited<ReturnType<typeof startDeferredServer>>;
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** PUBLIC_URL: where the service runs. */
let base: string;
/** The same server under another origin: the "news site" that embeds the widget. */
let newsSite: string;

before(async () => {
  server = await startDeferredServer();
  base = `http://127.0.0.1:${server.port}`;
  newsSite = `http://localhost:${server.port}`;
  h = await startHarness({ label: 'pages', env: { PUBLIC_URL: base, ALLOWED_ORIGINS: newsSite, DEMO: '1' } });
  server.use(h.app);
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 360, height: 740 } });
  page = await context.newPage();
});
after(async () => {
  await browser?.close();
  await server?.close();
  await h?.close();
});

async function mailTo(address: string, subject: RegExp) {
  return eventually(() => h.smtp.to(address).find((m) => subject.test(m.parsed.subject ?? '')), 10_000, `e-mail to ${address}`);
}

async function subscriber(email: string) {
  const { rows } = await h.db.pool.query<{ status: string; lang: string; topics: string[]; source: string }>(
    `SELECT s.status, s.lang, ARRAY(SELECT topic_slug FROM subscriber_topics t WHERE t.subscriber_id = s.id ORDER BY 1) AS topics,
            (SELECT source FROM consents c WHERE c.subscriber_id = s.id ORDER BY c.id DESC LIMIT 1) AS source
     FROM subscribers s WHERE s.email = $1`,
    [email],
  );
  return rows[0];
}

const focusedId = (frame: Page | Frame) => frame.evaluate(() => document.activeElement?.id ?? '');

describe('the subscription pages in a browser (360 px wide)', () => {
  it('subscribes through /subscribe by keyboard only; errors are summarised, focused and tied to their fields', async () => {
    await page.goto(`${base}/subscribe`);
    await checkPage(page, 'subscribe-pl');
    assert.equal(await tabUntil(page, '.skip-link'), 1, 'the skip link is the first stop');
    assert.ok(((await page.locator('.skip-link').boundingBox())?.y ?? -1) >= 0, 'the focused skip link is visible');

    await tabUntil(page, 'button[type=submit]');
    await Promise.all([page.waitForURL(`${base}/api/subscriptions`), page.keyboard.press('Enter')]);
    assert.equal(await focusedId(page), 'error-summary');
    assert.equal(await page.getAttribute('#email', 'aria-invalid'), 'true');
    assert.match((await page.getAttribute('#email', 'aria-describedby')) ?? '', /\bemail-error\b/);
    assert.equal(await page.getAttribute('#consent', 'aria-describedby'), 'consent-error');
    await checkPage(page, 'subscribe-errors-pl');

    await tabUntil(page, '#email');
    await assertFocusVisible(page, 'the e-mail field');
    await page.keyboard.type('ewa.kowalska@example.pl');
    await tabUntil(page, '#topic-komunikaty');
    await page.keyboard.press('Space');
    await tabUntil(page, '#consent');
    await page.keyboard.press('Space');
    await tabUntil(page, 'button[type=submit]');
    await assertFocusVisible(page, 'the submit button');
    await page.screenshot({ path: 'test-artifacts/focus-submit-pl.png' });
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Sprawdź skrzynkę e-mail' }).waitFor();
    await checkPage(page, 'check-inbox-pl');
    assert.deepEqual((await subscriber('ewa.kowalska@example.pl'))?.topics, ['komunikaty']);
  });

  it('confirms from the e-mail link, changes preferences, unsubscribes and erases (Polish)', async () => {
    const email = 'ewa.kowalska@example.pl';
    const confirmUrl = findLink((await mailTo(email, /Potwierdź/)).parsed.text, 'confirm');
    assert.ok(confirmUrl.startsWith(`${base}/confirm/`), 'links in e-mails point at the running server');
    await page.goto(confirmUrl);
    await checkPage(page, 'confirm-pl');
    await page.getByRole('button', { name: 'Potwierdzam zapis' }).click();
    await page.getByRole('heading', { name: 'Zapis został potwierdzony' }).waitFor();
    await checkPage(page, 'confirmed-pl');

    await page.getByRole('link', { name: 'Przejdź do ustawień powiadomień' }).click();
    await page.getByRole('heading', { name: 'Ustawienia powiadomień' }).waitFor();
    await checkPage(page, 'preferences-pl');
    await page.getByLabel('Komunikaty').uncheck();
    await page.getByRole('button', { name: 'Zapisz ustawienia' }).click();
    await page.locator('#error-summary').waitFor();
    await checkPage(page, 'preferences-errors-pl');
    await page.getByLabel('Aktualności').check();
    await page.getByLabel('Dla mediów').check();
    await page.getByRole('button', { name: 'Zapisz ustawienia' }).click();
    await page.getByText('Zapisaliśmy Twoje ustawienia.').waitFor();
    await checkPage(page, 'preferences-saved-pl');
    assert.deepEqual((await subscriber(email))?.topics, ['aktualnosci', 'dla-mediow']);
    const preferencesUrl = page.url();

    const unsubscribeUrl = findLink((await mailTo(email, /potwierdzony/)).parsed.text, 'unsubscribe');
    await page.goto(unsubscribeUrl);
    await checkPage(page, 'unsubscribe-pl');
    await page.goto(preferencesUrl);
    await page.getByRole('button', { name: 'Wypisz się ze wszystkich powiadomień' }).click();
    await page.getByRole('heading', { name: 'Wypisaliśmy Cię z powiadomień' }).waitFor();
    await checkPage(page, 'unsubscribed-pl');
    assert.equal((await subscriber(email))?.status, 'unsubscribed');

    await page.goto(preferencesUrl);
    await checkPage(page, 'preferences-unsubscribed-pl');
    await page.getByRole('button', { name: 'Usuń wszystkie moje dane' }).click();
    await page.getByRole('heading', { name: 'Czy na pewno usunąć wszystkie Twoje dane?' }).waitFor();
    await checkPage(page, 'erase-confirm-pl');
    assert.equal((await subscriber(email))?.status, 'unsubscribed', 'the first step erases nothing');
    await page.getByRole('button', { name: 'Tak, usuń wszystkie moje dane', exact: true }).click();
    await page.getByRole('heading', { name: 'Usunęliśmy Twoje dane' }).waitFor();
    await checkPage(page, 'erased-pl');
    assert.equal(await subscriber(email), undefined);
  });

  it('works in English: the language switch, the form, confirmation, preferences and the unsubscribe page', async () => {
    const email = 'john.smith@example.com';
    await page.goto(`${base}/subscribe?topic=dla-mediow`);
    await page.getByRole('link', { name: 'English' }).click();
    await page.waitForURL(/lang=en/);
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.ok(await page.getByLabel('For the media').isChecked(), 'the preselected section survives the switch');
    await checkPage(page, 'subscribe-en');
    await page.getByRole('button', { name: 'Subscribe' }).click();
    await page.locator('#error-summary').waitFor();
    await checkPage(page, 'subscribe-errors-en');
    await page.getByLabel('E-mail address', { exact: true }).fill(email);
    await page.getByLabel(/I consent/).check();
    await page.getByRole('button', { name: 'Subscribe' }).click();
    await page.getByRole('heading', { name: 'Check your inbox' }).waitFor();
    await checkPage(page, 'check-inbox-en');

    await page.goto(findLink((await mailTo(email, /Confirm/i)).parsed.text, 'confirm'));
    await checkPage(page, 'confirm-en');
    await page.getByRole('button').first().click();
    await page.locator('.notice').waitFor();
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    await checkPage(page, 'confirmed-en');
    await page.locator('.actions a').click();
    await page.locator('form.form').waitFor();
    await checkPage(page, 'preferences-en');
    const preferencesUrl = page.url();

    await page.goto(findLink((await mailTo(email, /confirmed/i)).parsed.text, 'unsubscribe'));
    await checkPage(page, 'unsubscribe-en');
    await page.locator('form button').click();
    await page.locator('.notice').waitFor();
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    await checkPage(page, 'unsubscribed-en');
    await page.goto(preferencesUrl);
    await page.locator('.button-danger').click();
    await page.getByRole('heading', { name: 'Erase all your data?' }).waitFor();
    await page.getByRole('button', { name: 'Yes, erase all my data' }).click();
    await page.locator('.notice').waitFor();
    await checkPage(page, 'erased-en');
    assert.equal(await subscriber(email), undefined);
  });

  it('the widget on /demo opens the form in a dialog from another origin; keyboard only, Escape closes and focus returns', async () => {
    const email = 'redakcja@example.pl';
    await page.goto(`${newsSite}/demo`);
    const powiadom = page.locator('a[data-powiadom][role=button]');
    await powiadom.waitFor();
    await checkPage(page, 'demo-pl');

    await tabUntil(page, 'a[data-powiadom]');
    await assertFocusVisible(page, 'the Powiadom link');
    await page.keyboard.press('Enter');
    const dialog = page.locator('dialog.powiadom-dialog[open]');
    await dialog.waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.className), 'powiadom-dialog-close');
    await assertFocusVisible(page, "the dialog's close button");
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' }).catch(() => undefined);
    assert.equal(await dialog.count(), 0, 'Escape closes the dialog');
    await page.locator('iframe.powiadom-dialog-frame').waitFor({ state: 'detached', timeout: 5_000 }).catch(() => undefined);
    assert.equal(await page.locator('iframe.powiadom-dialog-frame').count(), 0, 'closing unloads the form');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Powiadom', 'focus returns to the link');

    await page.keyboard.press('Enter');
    await dialog.waitFor();
    const frame = (await page.locator('iframe.powiadom-dialog-frame').elementHandle())!.contentFrame();
    const form = (await frame)!;
    await form.waitForSelector('#email');
    assert.ok(form.url().startsWith(`${base}/subscribe?`), 'the form comes from PUBLIC_URL, another origin');
    assert.ok(await form.isChecked('#topic-dla-mediow'), "the article's section is preselected");
    await tabUntil(page, '#email', form);
    await page.keyboard.type(email);
    await tabUntil(page, '#consent', form);
    await page.keyboard.press('Space');
    await page.screenshot({ path: 'test-artifacts/demo-dialog-pl.png' });
    await tabUntil(page, 'button[type=submit]', form);
    await page.keyboard.press('Enter');
    await form.waitForSelector('text=Sprawdź skrzynkę e-mail');
    await checkPage(page, 'demo-dialog-check-inbox-pl', { fullPage: false });
    await page.keyboard.press('Escape');
    await eventually(async () => (await dialog.count()) === 0, 5000, 'dialog closed by Escape inside the frame');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Powiadom');

    const confirmUrl = findLink((await mailTo(email, /Potwierdź/)).parsed.text, 'confirm');
    assert.deepEqual(await subscriber(email), { status: 'pending', lang: 'pl', topics: ['dla-mediow'], source: 'embed' });
    await page.goto(confirmUrl);
    await page.getByRole('button', { name: 'Potwierdzam zapis' }).click();
    await page.getByRole('heading', { name: 'Zapis został potwierdzony' }).waitFor();
    assert.equal((await subscriber(email))?.status, 'active');
  });

  it('the demo and widget work in English, and without JavaScript the Powiadom link leads to the form', async () => {
    await page.goto(`${newsSite}/demo?lang=en`);
    await page.locator('a[data-powiadom][role=button]').click();
    const frame = (await (await page.locator('iframe.powiadom-dialog-frame').elementHandle())!.contentFrame())!;
    await frame.waitForSelector('#email');
    assert.equal(await frame.getAttribute('html', 'lang'), 'en');
    await checkPage(page, 'demo-dialog-en', { fullPage: false });
    await page.getByRole('button', { name: 'Close' }).click();

    const noScript = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 360, height: 740 } });
    const plain = await noScript.newPage();
    await plain.goto(`${newsSite}/demo`);
    await plain.getByRole('link', { name: 'Powiadom' }).click();
    await plain.waitForURL(/\/subscribe\?topic=dla-mediow/);
    assert.ok(await plain.getByLabel('Dla mediów').isChecked());
    await noScript.close();
  });

  it('error pages, the demo in English, a desktop viewport and dark mode pass axe', async () => {
    await page.goto(`${base}/confirm/not-a-valid-token`);
    await checkPage(page, 'error-pl');
    await page.goto(`${base}/confirm/not-a-valid-token?lang=en`);
    await checkPage(page, 'error-en');
    const missing = await page.goto(`${base}/no-such-page`);
    assert.equal(missing?.status(), 404);
    await checkPage(page, 'not-found-pl');
    await page.goto(`${newsSite}/demo?lang=en`);
    await checkPage(page, 'demo-en');

    const desktop = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const wide = await desktop.newPage();
    await wide.goto(`${base}/subscribe`);
    await checkPage(wide, 'subscribe-desktop-pl');
    await wide.goto(`${newsSite}/demo`);
    await wide.locator('a[data-powiadom][role=button]').click();
    await (await (await wide.locator('iframe.powiadom-dialog-frame').elementHandle())!.contentFrame())!.waitForSelector('#email');
    await checkPage(wide, 'demo-dialog-desktop-pl', { fullPage: false });
    await desktop.close();

    const dark = await browser.newContext({ colorScheme: 'dark', viewport: { width: 360, height: 740 } });
    const darkPage = await dark.newPage();
    await darkPage.goto(`${base}/subscribe`);
    await checkPage(darkPage, 'subscribe-dark-pl');
    await darkPage.getByRole('button', { name: 'Zapisz się' }).click();
    await darkPage.locator('#error-summary').waitFor();
    await checkPage(darkPage, 'subscribe-errors-dark-pl');
    await darkPage.goto(`${base}/subscribe?lang=en`);
    await checkPage(darkPage, 'subscribe-dark-en');
    await dark.close();
  });

  it('the development outbox lists the e-mails with their links, in both languages', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'powiadom-outbox-'));
    await writeFile(path.join(dir, '0001.eml'), h.smtp.received[0]!.raw);
    const outbox = await startDeferredServer();
    outbox.use(createApp({ ...h.deps, config: { ...h.config, SMTP_URL: undefined, OUTBOX_DIR: dir, NODE_ENV: 'development' } }));
    try {
      await page.goto(`http://127.0.0.1:${outbox.port}/dev/outbox`);
      assert.ok(await page.locator('.outbox a[href*="/confirm/"]').count());
      await checkPage(page, 'outbox-pl');
      await page.goto(`http://127.0.0.1:${outbox.port}/dev/outbox?lang=en`);
      await checkPage(page, 'outbox-en');
    } finally {
      await outbox.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('/admin/templates previews every e-mail in both languages (under 100 KB, lang, preheader), behind admin auth', async () => {
    const anonymous = await h.http.get('/admin/templates').set('Accept', 'text/html');
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers['www-authenticate'] ?? '', /^Basic /);

    const adminContext = await browser.newContext({ httpCredentials: { username: 'admin', password: ADMIN_TOKEN }, viewport: { width: 360, height: 740 } });
    const admin = await adminContext.newPage();
    await admin.goto(`${base}/admin/templates`);
    assert.equal(await admin.locator('.preview iframe').count(), 10);
    await checkPage(admin, 'admin-templates-pl', { exclude: '.preview iframe' });
    await admin.locator('.preview iframe').first().screenshot({ path: 'test-artifacts/admin-templates-preview-pl.png' });
    await admin.goto(`${base}/admin/templates?lang=en`);
    await checkPage(admin, 'admin-templates-en', { exclude: '.preview iframe' });
    for (const name of ['confirm', 'already-subscribed', 'welcome', 'notification']) {
      for (const lang of ['pl', 'en']) {
        const res = await h.http.get(`/admin/templates/${name}/${lang}`).set('Authorization', `Bearer ${ADMIN_TOKEN}`);
        assert.equal(res.status, 200);
        assert.ok(Buffer.byteLength(res.text) < 100 * 1024, `${name}/${lang} is under 100 KB`);
        assert.match(res.text, new RegExp(`<html[^>]+lang="${lang}"`));
        assert.match(res.text, /<div style="display:none;font-size:1px;[^"]*">[^<\s]/, `${name}/${lang} has a preheader`);
        assert.doesNotMatch(res.text, /<img(?![^>]*\balt=)[^>]*>/, `${name}/${lang}: every image has alt`);
        if (lang === 'pl') {
          await admin.goto(`${base}/admin/templates/${name}/${lang}`);
          await admin.screenshot({ path: `test-artifacts/email-${name}-${lang}.png`, fullPage: true });
        }
      }
    }
    await adminContext.close();
  });
});
