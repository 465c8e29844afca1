import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { assertAccessible, checkPage, launchChromium, startDeferredServer } from './helpers/browser.ts';
import { eventually, findLink, startHarness, type Harness } from './helpers/harness.ts';

// The visitors' new pages in Chromium: the "send me my link" form, the personal-data notice and the
// accessibility statement, in both languages, at phone and desktop widths, axe-clean.
let h: Harness;
let server: Awaited<ReturnType<typeof startDeferredServer>>;
let browser: Browser;
let base: string;

before(async () => {
  server = await startDeferredServer();
  base = `http://127.0.0.1:${server.port}`;
  h = await startHarness({
    label: 'visitor-pages',
    env: { PUBLIC_URL: base, BRAND_DPO_EMAIL: 'iod@duw.example', BRAND_CONTROLLER_ADDRESS: 'pl. Powstańców Warszawy 1, 50-153 Wrocław', A11Y_CONTACT_NAME: 'Jan Kowalski', A11Y_CONTACT_EMAIL: 'dostepnosc@duw.example', A11Y_CONTACT_PHONE: '+48 71 340 60 00', A11Y_PUBLISHED: '2026-11-28', A11Y_STATUS: 'full' },
  });
  server.use(h.app);
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.close();
  await h?.close();
});

const PAGES = [
  { path: '/manage', name: 'manage-pl', h1: 'Wyślij sobie link do ustawień powiadomień' },
  { path: '/manage?lang=en', name: 'manage-en', h1: 'Send yourself a link to your notification settings' },
  { path: '/informacja-o-danych', name: 'privacy-pl', h1: 'Informacja o przetwarzaniu danych osobowych' },
  { path: '/privacy', name: 'privacy-en', h1: 'How we process your personal data' },
  { path: '/deklaracja-dostepnosci', name: 'accessibility-pl', h1: 'Deklaracja dostępności' },
  { path: '/accessibility', name: 'accessibility-en', h1: 'Accessibility statement' },
];

async function withPage(width: number, work: (page: Page) => Promise<void>): Promise<void> {
  const context = await browser.newContext({ viewport: { width, height: 800 } });
  try {
    await work(await context.newPage());
  } finally {
    await context.close();
  }
}

describe('the visitors\' pages in a browser', () => {
  for (const width of [360, 1280]) {
    it(`are axe-clean, one h1, no horizontal scrolling, footer links to all three, at ${width} px`, async () => {
      await withPage(width, async (page) => {
        for (const p of PAGES) {
          await page.goto(`${base}${p.path}`);
          await page.getByRole('heading', { level: 1, name: p.h1 }).waitFor();
          await checkPage(page, `${p.name}-${width}`);
          const footer = page.locator('.footer-links a');
          assert.equal(await footer.count(), 3, `${p.name}: footer links`);
        }
      });
    });
  }

  it('the accessibility statement follows the official template\'s structure with the configured fields', async () => {
    await withPage(1280, async (page) => {
      await page.goto(`${base}/deklaracja-dostepnosci`);
      for (const id of ['a11y-url', 'a11y-data-publikacja', 'a11y-data-aktualizacja', 'a11y-status', 'a11y-przygotowanie', 'a11y-data-sporzadzenie', 'a11y-kontakt', 'a11y-kontakt-osoba', 'a11y-kontakt-email', 'a11y-kontakt-telefon', 'a11y-procedura']) {
        assert.equal(await page.locator(`#${id}`).count(), 1, `#${id}`);
      }
      assert.equal(await page.locator('#a11y-data-publikacja').innerText(), '28 listopada 2026 r.');
      assert.equal(await page.locator('#a11y-kontakt-osoba').innerText(), 'Jan Kowalski');
      assert.match(await page.locator('main').innerText(), /Aplikacja jest zgodna z\u00a0ustawą/);
      // Polish one-letter words are bound to the next word with a non-breaking space.
      assert.doesNotMatch(await page.locator('main').textContent() ?? '', /\s[wzioau] /);
    });
  });

  it('the privacy notice names the controller, the DPO and the retention from the settings', async () => {
    await withPage(1280, async (page) => {
      await page.goto(`${base}/informacja-o-danych`);
      const text = (await page.locator('main').innerText()).replace(/\u00a0/g, ' ');
      assert.match(text, /Administratorem Twoich danych osobowych jest: Dolnośląski Urząd Wojewódzki we Wrocławiu, pl\. Powstańców Warszawy 1/);
      assert.match(text, /iod@duw\.example/);
      assert.match(text, /Niepotwierdzone zgłoszenie zapisu usuwamy po 7 dniach\./);
      assert.match(text, /Prezesa Urzędu Ochrony Danych Osobowych/);
    });
  });

  it('sends the management link from the form: the same page for any address, the link arrives, it opens the settings', async () => {
    const email = 'przegladarka@example.pl';
    assert.equal((await h.http.post('/api/subscriptions').send({ email, consent: true })).status, 202);
    await eventually(() => h.smtp.to(email)[0], 60_000, 'confirmation');
    await withPage(360, async (page) => {
      await page.goto(`${base}/subscribe`);
      await page.getByRole('link', { name: 'Wyślij sobie link do ustawień' }).click();
      await page.getByLabel('Adres e-mail').fill('zly-adres');
      await page.getByRole('button', { name: 'Wyślij link' }).click();
      await page.locator('#error-summary').waitFor();
      await checkPage(page, 'manage-errors-pl');
      await page.getByLabel('Adres e-mail').fill(email);
      await page.getByRole('button', { name: 'Wyślij link' }).click();
      await page.getByRole('heading', { name: 'Sprawdź skrzynkę e-mail' }).waitFor();
      assert.equal(await page.locator('.typed-email').innerText(), email);
      await checkPage(page, 'manage-sent-pl');
      const mail = await eventually(() => h.smtp.to(email).find((m) => /Link do ustawień/.test(m.parsed.subject ?? '')), 60_000, 'management link');
      await page.goto(findLink(mail.parsed.text, 'preferences'));
      await page.getByRole('heading', { name: 'Ustawienia powiadomień' }).waitFor();
      assert.match(await page.locator('.summary').innerText(), /czekają na potwierdzenie zapisu/);
      await assertAccessible(page, 'preferences via the management link');
    });
  });

  it('an invalid link\'s error page offers a fresh link', async () => {
    await withPage(360, async (page) => {
      const res = await page.goto(`${base}/preferences/nie-ma-takiego-linku`);
      assert.equal(res?.status(), 400);
      await checkPage(page, 'error-invalid-link-pl');
      await page.getByRole('link', { name: 'Wyślij sobie nowy link' }).click();
      await page.getByRole('heading', { level: 1, name: 'Wyślij sobie link do ustawień powiadomień' }).waitFor();
    });
  });
});
