import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium, startDeferredServer } from './helpers/browser.ts';
import { ADMIN_TOKEN, startHarness, type Harness } from './helpers/harness.ts';

let h: Harness;
let browser: Browser;
let server: Awaited<ReturnType<typeof startDeferredServer>>;

before(async () => {
  h = await startHarness({ label: 'dashboardbrowser', workers: false });
  server = await startDeferredServer();
  server.use(h.app);
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.close();
  await h.close();
});

describe('the queue dashboard in a browser', () => {
  it('renders every queue under its relaxed CSP without a single CSP violation', async () => {
    const context = await browser.newContext({ httpCredentials: { username: 'admin', password: ADMIN_TOKEN } });
    const page = await context.newPage();
    const refused: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) refused.push(m.text());
    });
    page.on('pageerror', (err) => refused.push(`page error: ${err.message}`));
    const res = await page.goto(`http://127.0.0.1:${server.port}/admin/queues`);
    assert.equal(res?.status(), 200);
    for (const name of h.deps.queues.all().map((q) => q.name)) {
      await page.getByText(name, { exact: true }).first().waitFor({ timeout: 15_000 });
    }
    assert.deepEqual(refused, []);
    await context.close();
  });

  it('makes the browser ask for credentials, and answers 401 to wrong ones', async () => {
    const anonymous = await browser.newContext();
    // Headless Chromium answers a Basic challenge it has no credentials for by abandoning the navigation.
    await assert.rejects((await anonymous.newPage()).goto(`http://127.0.0.1:${server.port}/admin/queues`), /ERR_INVALID_AUTH_CREDENTIALS/);
    await anonymous.close();
    const wrong = await browser.newContext({ httpCredentials: { username: 'admin', password: 'wrong-password-0123456789' } });
    const res = await (await wrong.newPage()).goto(`http://127.0.0.1:${server.port}/admin/queues`);
    assert.equal(res?.status(), 401);
    assert.match(res?.headers()['www-authenticate'] ?? '', /^Basic /);
    await wrong.close();
  });
});
