import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { TOTP } from 'otpauth';
import { totpCode } from '../src/core/totp.ts';
import { OPERATOR, signIn, startConsoleWorld, type ConsoleWorld } from './helpers/console-browser.ts';
import { eventually, type Harness } from './helpers/harness.ts';

let w: ConsoleWorld;
let h: Harness;
let browser: Browser;
let base: string;

before(async () => {
  w = await startConsoleWorld('console-totp-browser', { deliver: false });
  ({ h, browser, base } = w);
});
after(async () => {
  await w?.close();
});

const STEP_MS = 30_000;
/** A 6-digit string that is no code of this secret within ±1 step now. */
function wrongCode(secret: string): string {
  const near = new Set([-1, 0, 1].map((d) => totpCode(secret, Date.now() + d * STEP_MS)));
  return ['000000', '111111', '222222'].find((c) => !near.has(c))!;
}

/** The password step in Polish; ends on the code page. */
async function passwordStep(page: Page, who: { email: string; password: string }): Promise<void> {
  await page.goto(`${base}/admin`);
  await page.getByLabel('Adres e-mail').fill(who.email);
  await page.getByLabel('Hasło').fill(who.password);
  await page.getByRole('button', { name: 'Zaloguj się' }).click();
  await page.getByRole('heading', { name: 'Kod weryfikacyjny' }).waitFor();
}

async function submitCode(page: Page, code: string): Promise<number> {
  await page.getByLabel('Kod z aplikacji lub kod zapasowy').fill(code);
  const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Potwierdź' }).click()]);
  await page.waitForLoadState();
  return response.status();
}

async function signOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Wyloguj się' }).click();
  await page.getByText('Wylogowano.').waitFor();
}

async function auditOf(email: string): Promise<{ action: string; detail: Record<string, unknown> }[]> {
  return (await h.db.pool.query(`SELECT action, detail FROM audit_log WHERE actor = $1 ORDER BY id`, [email])).rows;
}

describe('TOTP second factor in the operators\' console', () => {
  it('an operator turns TOTP on, signs in with a code; a wrong and a replayed code are refused; a recovery code works once; then turns it off', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await signIn(w, context, OPERATOR);
    await page.getByRole('link', { name: OPERATOR.email }).click();
    await page.getByRole('heading', { name: 'Twoje konto' }).waitFor();

    // Set-up: the secret as text, as an otpauth:// URI and as a QR code (inline SVG); a wrong code is refused.
    await page.goto(`${base}/admin/account`);
    await page.getByRole('button', { name: 'Włącz weryfikację dwuetapową' }).click();
    const secret = await page.locator('#totp-secret').innerText();
    assert.match(secret, /^[A-Z2-7]{32}$/);
    const uri = new URL(await page.locator('#totp-uri').innerText());
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.searchParams.get('secret'), secret);
    assert.equal(uri.searchParams.get('digits'), '6');
    assert.equal(await page.locator('.qr svg path').count() > 0, true);
    await page.getByLabel('Kod z aplikacji').fill(wrongCode(secret));
    await page.getByRole('button', { name: 'Potwierdź i włącz' }).click();
    await page.getByText('Kod jest nieprawidłowy.', { exact: false }).waitFor();
    await page.getByLabel('Kod z aplikacji').fill(totpCode(secret));
    await page.getByRole('button', { name: 'Potwierdź i włącz' }).click();
    await page.getByRole('heading', { name: 'Kody zapasowe' }).waitFor();
    const codes = await page.locator('.recovery-codes code').allInnerTexts();
    assert.equal(codes.length, 10);
    const stored = (await h.db.pool.query(`SELECT totp_secret FROM operators WHERE email = $1`, [OPERATOR.email])).rows[0].totp_secret as string;
    assert.match(stored, /^v1\./);
    assert.ok(!stored.includes(secret), 'the secret is stored encrypted');
    await page.goto(`${base}/admin/account`);
    assert.equal(await page.locator('#totp-secret').count(), 0, 'the secret is never shown again');
    await signOut(page);

    // Sign-in: no session after the password alone; a wrong code refused; the next step's code accepted.
    await passwordStep(page, OPERATOR);
    assert.equal((await page.request.get(`${base}/admin`, { maxRedirects: 0 })).status(), 303, 'no session before the code');
    await page.goto(`${base}/admin/sign-in/code`);
    assert.equal(await submitCode(page, wrongCode(secret)), 401);
    await page.getByText('Kod jest nieprawidłowy, wygasł albo został już użyty.').first().waitFor();
    const code = totpCode(secret, Date.now() + STEP_MS);
    assert.equal(await submitCode(page, code), 303);
    assert.match(page.url(), /\/admin$/);
    await signOut(page);

    // The same code again: refused (its step was used).
    await passwordStep(page, OPERATOR);
    assert.equal(await submitCode(page, code), 401);
    // A recovery code works once.
    assert.equal(await submitCode(page, codes[0]!), 303);
    assert.match(page.url(), /\/admin$/);
    await signOut(page);
    await passwordStep(page, OPERATOR);
    assert.equal(await submitCode(page, codes[0]!), 401);
    assert.equal(await submitCode(page, codes[1]!.toUpperCase().replaceAll('-', '')), 303);

    // Turning it off needs the password and a code of a step not used yet.
    const used = TOTP.counter({ timestamp: Date.now() }) + 1;
    await eventually(() => TOTP.counter({ timestamp: Date.now() }) + 1 > used, 60_000, 'the next 30-second step');
    await page.goto(`${base}/admin/account`);
    await page.getByLabel('Hasło').fill(OPERATOR.password);
    await page.getByLabel('Kod z aplikacji lub kod zapasowy').fill(code);
    await page.getByRole('button', { name: 'Wyłącz' }).click();
    await page.getByText('Hasło albo kod są nieprawidłowe').waitFor();
    await page.getByLabel('Hasło').fill(OPERATOR.password);
    await page.getByLabel('Kod z aplikacji lub kod zapasowy').fill(totpCode(secret, Date.now() + STEP_MS));
    await page.getByRole('button', { name: 'Wyłącz' }).click();
    await page.getByText('Weryfikacja dwuetapowa została wyłączona.').waitFor();
    const row = (await h.db.pool.query(`SELECT totp_secret, (SELECT count(*)::int FROM operator_recovery_codes r WHERE r.operator_id = o.id) AS codes FROM operators o WHERE email = $1`, [OPERATOR.email])).rows[0];
    assert.deepEqual(row, { totp_secret: null, codes: 0 });

    const audit = await auditOf(OPERATOR.email);
    assert.deepEqual(
      audit.map((a) => a.action),
      ['sign-in', 'totp.enable', 'sign-out', 'sign-in.code-refused', 'sign-in', 'sign-out', 'sign-in.code-refused', 'sign-in', 'sign-out', 'sign-in.code-refused', 'sign-in', 'totp.disable'],
    );
    assert.deepEqual(audit.filter((a) => a.action === 'sign-in').map((a) => a.detail.second_factor), [undefined, 'totp', 'recovery-code', 'recovery-code']);
    assert.ok(!JSON.stringify(audit).includes(secret) && !JSON.stringify(audit).includes(codes[0]!), 'no secret or code in the audit log');
    await context.close();
  });
});
