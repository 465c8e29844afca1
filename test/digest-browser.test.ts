import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { checkPage, launchChromium, startDeferredServer } from './helpers/browser.ts';
import { eventually, findLink, startHarness, type Harness } from './helpers/harness.ts';

// The frequency controls in Chromium: a radio group with a one-line explanation each on /subscribe and on the
// preferences page, keyboard-operable, axe-clean (WCAG 2.1 AA), saved where the reader expects.
let h: Harness;
let server: Awaited<ReturnType<typeof startDeferredServer>>;
let browser: Browser;
let page: Page;
let base: string;

before(async () => {
  server = await startDeferredServer();
  base = `http://127.0.0.1:${server.port}`;
  h = await startHarness({ label: 'digestbrowser', env: { PUBLIC_URL: base, DIGEST_TIME: '07:30', DIGEST_WEEKDAY: 'friday' } });
  server.use(h.app);
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: { width: 360, height: 740 } })).newPage();
});
after(async () => {
  await browser?.close();
  await server?.close();
  await h?.close();
});

async function frequencyOf(email: string): Promise<string | undefined> {
  return (await h.db.pool.query<{ frequency: string }>('SELECT frequency FROM subscribers WHERE email = $1', [email])).rows[0]?.frequency;
}

describe('frequency controls in a browser (360 px wide)', () => {
  it('offers immediate, daily and weekly on /subscribe with an explanation each, and subscribes weekly by keyboard', async () => {
    await page.goto(`${base}/subscribe`);
    await checkPage(page, 'subscribe-frequency-pl');
    const immediate = page.getByRole('radio', { name: 'Od razu' });
    assert.equal(await immediate.isChecked(), true, 'immediate is the default');
    const weekly = page.getByRole('radio', { name: 'Raz w tygodniu' });
    assert.equal(await weekly.getAttribute('aria-describedby'), 'frequency-weekly-hint');
    assert.match(await page.locator('#frequency-weekly-hint').innerText(), /w\spiątek, około 07:30/);
    assert.match(await page.locator('#frequency-daily-hint').innerText(), /około 07:30/);
    await page.fill('#email', 'browser.weekly@example.pl');
    await page.check('#topic-komunikaty');
    await immediate.focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    assert.equal(await weekly.isChecked(), true, 'arrow keys move through the group');
    await page.check('#consent');
    await page.click('button[type=submit]');
    await page.waitForURL(/\/api\/subscriptions/);
    assert.equal(await frequencyOf('browser.weekly@example.pl'), 'weekly');
  });

  it('shows the current frequency and the note on the preferences page, axe-clean in both languages, and saves a change', async () => {
    const mail = await eventually(() => h.smtp.to('browser.weekly@example.pl')[0], 30_000, 'confirmation');
    await page.goto(findLink(mail.parsed.text, 'confirm'));
    await page.click('button[type=submit]');
    const welcome = await eventually(() => h.smtp.to('browser.weekly@example.pl').find((m) => /potwierdzony/.test(m.parsed.subject ?? '')), 30_000, 'welcome');
    const prefs = findLink(welcome.parsed.text, 'preferences');
    await page.goto(prefs);
    await checkPage(page, 'preferences-frequency-pl');
    assert.equal(await page.getByRole('radio', { name: 'Raz w tygodniu' }).isChecked(), true);
    assert.match(await page.locator('#frequency-note').innerText(), /nie zostaną już wysłane/);
    await page.getByRole('radio', { name: 'Raz dziennie' }).check();
    await page.getByRole('button', { name: 'Zapisz ustawienia' }).click();
    await page.waitForURL(/saved=1/);
    assert.equal(await page.getByRole('radio', { name: 'Raz dziennie' }).isChecked(), true);
    assert.equal(await frequencyOf('browser.weekly@example.pl'), 'daily');
    await page.goto(`${prefs}${prefs.includes('?') ? '&' : '?'}lang=en`);
    await checkPage(page, 'preferences-frequency-en');
    assert.equal(await page.getByRole('radio', { name: 'Once a day' }).isChecked(), true);
    assert.match(await page.locator('#frequency-weekly-hint').innerText(), /on Friday, at about 07:30/);
  });
});
