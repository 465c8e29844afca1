import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { totpCode } from '../src/core/totp.ts';
import { checkPage } from './helpers/browser.ts';
import { ADMIN, checkEverywhere, OPERATOR, signIn, startConsoleWorld, type ConsoleWorld } from './helpers/console-browser.ts';

let w: ConsoleWorld;
before(async () => {
  w = await startConsoleWorld('console-axe-totp', { deliver: false });
});
after(async () => {
  await w?.close();
});

/** Turns TOTP on from the account page in a language, ending on the recovery codes; returns the secret. */
async function enable(page: Page, lang: 'pl' | 'en'): Promise<string> {
  await page.goto(`${w.base}/admin/account${lang === 'en' ? '?lang=en' : ''}`);
  await page.getByRole('button', { name: lang === 'pl' ? 'Włącz weryfikację dwuetapową' : 'Turn on two-step verification' }).click();
  const secret = await page.locator('#totp-secret').innerText();
  await page.getByLabel(lang === 'pl' ? 'Kod z aplikacji' : 'Code from the app').fill(totpCode(secret));
  await page.getByRole('button', { name: lang === 'pl' ? 'Potwierdź i włącz' : 'Confirm and turn on' }).click();
  await page.getByRole('heading', { name: lang === 'pl' ? 'Kody zapasowe' : 'Recovery codes' }).waitFor();
  return secret;
}

/** axe on the page as it is (a POST's answer cannot be reloaded) at 1280 and 360 px. */
async function checkBothWidths(page: Page, name: string): Promise<void> {
  await checkPage(page, `${name}-1280`);
  await page.setViewportSize({ width: 360, height: 800 });
  await checkPage(page, `${name}-360`);
  await page.setViewportSize({ width: 1280, height: 800 });
}

describe('accessibility of the TOTP pages', () => {
  it('the account page (off, being set up, on), the recovery codes and the code step are axe-clean in Polish and English at 360 and 1280 px', async () => {
    const context = await w.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await signIn(w, context, OPERATOR);
    await checkEverywhere(w, page, '/admin/account', 'account-totp-off');
    await page.goto(`${w.base}/admin/account`);
    await page.getByRole('button', { name: 'Włącz weryfikację dwuetapową' }).click();
    await checkEverywhere(w, page, '/admin/account', 'account-totp-setup');
    await context.close();

    const admin = await w.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const adminPage = await signIn(w, admin, ADMIN);
    await enable(adminPage, 'pl');
    assert.equal(await adminPage.locator('.recovery-codes code').count(), 10);
    await checkBothWidths(adminPage, 'console-recovery-codes-pl');
    await checkEverywhere(w, adminPage, '/admin/account', 'account-totp-on');
    await adminPage.goto(`${w.base}/admin/account`);
    await adminPage.getByRole('button', { name: 'Wyloguj się' }).click();
    await adminPage.getByText('Wylogowano.').waitFor();
    await adminPage.getByLabel('Adres e-mail').fill(ADMIN.email);
    await adminPage.getByLabel('Hasło').fill(ADMIN.password);
    await adminPage.getByRole('button', { name: 'Zaloguj się' }).click();
    await adminPage.getByRole('heading', { name: 'Kod weryfikacyjny' }).waitFor();
    await checkEverywhere(w, adminPage, '/admin/sign-in/code', 'sign-in-code');
    await admin.close();
  });

  it('the recovery codes page is axe-clean in English', async () => {
    const context = await w.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await signIn(w, context, { email: 'piotr.podglad@duw.example', password: 'ciche-jezioro-o-zmierzchu' });
    await enable(page, 'en');
    await checkBothWidths(page, 'console-recovery-codes-en');
    await context.close();
  });
});
