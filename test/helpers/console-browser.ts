import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { checkPage, launchChromium, startDeferredServer } from './browser.ts';
import { createOperator } from './console.ts';
import { ADMIN_TOKEN, eventually, startHarness, type Harness } from './harness.ts';

/** A subscriber whose notification was sent. */
export const COMPLAINER = 'jan.skarga@example.pl';
/** A subscriber whose notification failed (the SMTP server rejects the address). */
export const BROKEN = 'nie.istnieje@example.pl';
/** The Postmark webhook's secret in the seeded console (bounces arrive through it). */
export const POSTMARK_SECRET = 'postmark-secret-0123456789';
/** An operator and a viewer of the seeded console. */
export const OPERATOR = { email: 'anna.nowak@duw.example', password: 'zielony-most-nad-odra' };
export const VIEWER = { email: 'piotr.podglad@duw.example', password: 'ciche-jezioro-o-zmierzchu' };
export const ADMIN = { email: 'kierownik@duw.example', password: 'stary-ratusz-pod-sniegiem' };

/** A running Powiadom on a real port with Chromium, three subscribers, one sent article (one failure) and two operators. */
export interface ConsoleWorld {
  h: Harness;
  base: string;
  browser: Browser;
  close(): Promise<void>;
}

/** The article of the seed. */
export const ARTICLE = { url: 'https://www.duw.pl/pl/komunikaty/1,Utrudnienia.html', title: 'Utrudnienia w ruchu na placu Powstańców', topics: ['komunikaty'] };

/**
 * Starts the world: HTTP server, seed data, Chromium. With `deliver` the workers really send the article
 * (one address is rejected by the SMTP server); without, the same outcome is written to the ledger directly.
 */
export async function startConsoleWorld(label: string, options: { deliver: boolean }): Promise<ConsoleWorld> {
  const server = await startDeferredServer();
  const base = `http://127.0.0.1:${server.port}`;
  const h = await startHarness({ label, workers: options.deliver, env: { PUBLIC_URL: base, GRAFANA_URL: 'https://grafana.duw.example/d/powiadom', POSTMARK_WEBHOOK_SECRET: POSTMARK_SECRET } });
  server.use(h.app);
  h.smtp.onRecipient = (address) => (address === BROKEN ? { ok: false, code: 550, message: '5.1.1 <nie.istnieje@example.pl>: Recipient address rejected: User unknown' } : { ok: true });
  const bearer = `Bearer ${ADMIN_TOKEN}`;
  await h.http.post('/api/subscribers/import').set('Authorization', bearer).send([COMPLAINER, BROKEN, 'ola@example.pl'].map((email) => ({ email, topics: ['komunikaty'], lang: 'pl', consentSource: 'telefon' }))).expect(200);
  if (options.deliver) {
    await h.http.post('/api/articles').set('Authorization', bearer).send(ARTICLE).expect(202);
    await eventually(async () => (await h.db.pool.query(`SELECT count(*)::int AS n FROM deliveries WHERE status IN ('sent', 'failed')`)).rows[0].n === 3, 120_000, 'three deliveries finished');
  } else {
    await writeDeliveredArticle(h);
  }
  await createOperator(h, OPERATOR.email, 'operator', OPERATOR.password);
  await createOperator(h, VIEWER.email, 'viewer', VIEWER.password);
  await createOperator(h, ADMIN.email, 'admin', ADMIN.password);
  const browser = await launchChromium();
  return {
    h,
    base,
    browser,
    async close() {
      await browser.close();
      await server.close();
      await h.close();
    },
  };
}

async function writeDeliveredArticle(h: Harness): Promise<void> {
  const { rows } = await h.db.pool.query<{ id: number }>(`INSERT INTO articles (guid, url, title, topics, fanout_status, fanout_done_at) VALUES ($1, $1, $2, $3, 'done', now()) RETURNING id`, [ARTICLE.url, ARTICLE.title, ARTICLE.topics]);
  await h.db.pool.query(
    `INSERT INTO deliveries (article_id, subscriber_id, status, attempts, last_error, sent_at)
     SELECT $1, id, CASE WHEN email = $2 THEN 'failed' ELSE 'sent' END, 1,
            CASE WHEN email = $2 THEN '550 5.1.1 Recipient address rejected: User unknown' END,
            CASE WHEN email = $2 THEN NULL ELSE now() END
     FROM subscribers`,
    [rows[0]!.id, BROKEN],
  );
}

/** Signs in through the form (Polish); returns the page on the overview. */
export async function signIn(world: ConsoleWorld, context: BrowserContext, who: { email: string; password: string }): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${world.base}/admin`);
  assert.match(page.url(), /\/admin\/sign-in$/);
  await page.getByLabel('Adres e-mail').fill(who.email);
  await page.getByLabel('Hasło').fill(who.password);
  await page.getByRole('button', { name: 'Zaloguj się' }).click();
  await page.waitForLoadState();
  if (!page.url().endsWith('/admin')) throw new Error(`sign-in ended at ${page.url()}: ${await page.locator('main').innerText()}`);
  return page;
}

/** axe, no horizontal scroll and one h1 at 360 and 1280 px, in Polish and English; screenshots in test-artifacts. */
export async function checkEverywhere(world: ConsoleWorld, page: Page, path: string, name: string): Promise<void> {
  for (const width of [360, 1280]) {
    await page.setViewportSize({ width, height: 800 });
    for (const lang of ['pl', 'en']) {
      const url = new URL(path, world.base);
      if (lang === 'en') url.searchParams.set('lang', 'en');
      await page.goto(url.href);
      await checkPage(page, `console-${name}-${lang}-${width}`);
    }
  }
}
