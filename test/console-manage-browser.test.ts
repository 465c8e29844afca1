import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { ADMIN, OPERATOR, signIn, startConsoleWorld, type ConsoleWorld } from './helpers/console-browser.ts';
import { ADMIN_TOKEN, type Harness } from './helpers/harness.ts';

let w: ConsoleWorld;
let h: Harness;
let browser: Browser;
let base: string;

before(async () => {
  w = await startConsoleWorld('console-manage-browser', { deliver: false });
  ({ h, browser, base } = w);
});
after(async () => {
  await w?.close();
});

async function auditRows(): Promise<{ actor: string; action: string }[]> {
  return (await h.db.pool.query(`SELECT actor, action FROM audit_log ORDER BY id`)).rows;
}

describe('articles, sections and suppressions in the console', () => {
  it('an operator sees why the e-mails of an article failed (addresses masked), sends them again, pauses and publishes', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await signIn(w, context, OPERATOR);
    await page.getByRole('link', { name: 'Artykuły' }).click();
    await page.getByRole('link', { name: 'Utrudnienia w ruchu na placu Powstańców' }).click();
    const failures = await page.locator('#failures + .table-scroll').innerText();
    assert.match(failures, /User unknown/);
    assert.match(failures, /n\*\*\*@example\.pl/);
    assert.doesNotMatch(await page.locator('main').innerText(), /nie\.istnieje@/);
    await page.getByRole('button', { name: 'Wyślij ponownie' }).click();
    await page.getByText('Nieudane wysyłki wróciły do kolejki.').waitFor();
    await page.getByRole('button', { name: 'Wstrzymaj wysyłkę' }).click();
    await page.getByText('Wysyłka powiadomień jest wstrzymana.', { exact: true }).first().waitFor();
    assert.equal(await h.deps.queues.send.isPaused(), true);
    await page.getByRole('button', { name: 'Wznów wysyłkę' }).click();
    await page.getByText('Wysyłka powiadomień została wznowiona.').waitFor();

    await page.getByRole('link', { name: 'Artykuły' }).click();
    await page.getByRole('link', { name: 'Opublikuj artykuł' }).click();
    await page.getByLabel('Tytuł').fill('Komunikat wojewody');
    await page.getByLabel('Adres artykułu (https://…)').fill('nie-adres');
    await page.getByRole('button', { name: 'Opublikuj i powiadom' }).click();
    await page.getByText('Formularz zawiera błędy').waitFor();
    assert.equal((await h.db.pool.query(`SELECT count(*)::int AS n FROM articles`)).rows[0].n, 1, 'nothing published');
    await page.getByLabel('Adres artykułu (https://…)').fill('https://www.duw.pl/pl/komunikaty/2,Komunikat.html');
    await page.getByLabel('Komunikaty').check();
    await page.getByRole('button', { name: 'Opublikuj i powiadom' }).click();
    await page.getByText('Artykuł został opublikowany.').waitFor();
    const actions = (await auditRows()).map((r) => r.action);
    for (const a of ['article.retry-failed', 'sending.pause', 'sending.resume', 'article.publish']) assert.ok(actions.includes(a), a);
    await context.close();
  });

  it('an admin adds a section with its English name and archives one without losing subscriptions; an operator may not', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await signIn(w, context, ADMIN);
    await page.getByRole('link', { name: 'Działy' }).click();
    await page.getByLabel('Identyfikator w adresie').fill('przetargi');
    await page.getByLabel('Nazwa po polsku').last().fill('Przetargi');
    await page.getByLabel('Nazwa po angielsku').last().fill('Tenders');
    await page.getByRole('button', { name: 'Dodaj dział' }).click();
    await page.getByText('Dział został dodany.').waitFor();
    assert.match(await page.locator('#section-przetargi').innerText(), /Przetargi · Tenders/);
    await page.locator('form[action^="/admin/topics/komunikaty/archive"] button').click();
    await page.getByText('Dział został zarchiwizowany.').waitFor();
    const form = await h.http.get('/subscribe?lang=en').expect(200);
    assert.match(form.text, /Tenders/);
    assert.doesNotMatch(form.text, /value="komunikaty"/);
    assert.equal((await h.db.pool.query(`SELECT count(*)::int AS n FROM subscriber_topics WHERE topic_slug = 'komunikaty'`)).rows[0].n, 3, 'subscriptions kept');
    await page.locator('form[action^="/admin/topics/komunikaty/restore"] button').click();
    await page.getByText('Dział został przywrócony.').waitFor();

    const operator = await signIn(w, await browser.newContext(), OPERATOR);
    await operator.goto(`${base}/admin/topics`);
    assert.equal(await operator.getByRole('button', { name: 'Dodaj dział' }).count(), 0);
    const csrf = await operator.locator('form[action^="/admin/sign-out"] input[name=_csrf]').inputValue();
    const refused = await operator.request.post(`${base}/admin/topics`, { form: { _csrf: csrf, slug: 'zakazany', name: 'Zakazany' }, headers: { Origin: base } });
    assert.equal(refused.status(), 403);
    assert.deepEqual((await auditRows()).filter((r) => r.action.startsWith('topic.')).map((r) => r.action), ['topic.add', 'topic.archive', 'topic.restore']);
    await context.close();
  });

  it('looks an address up on the suppression list and lifts it', async () => {
    const context = await browser.newContext({ viewport: { width: 360, height: 800 } });
    const page = await signIn(w, context, OPERATOR);
    await h.http.post('/api/suppressions').set('Authorization', `Bearer ${ADMIN_TOKEN}`).send({ email: 'odbija@example.pl', reason: 'hard_bounce' }).expect((r) => assert.ok(r.status < 300));
    await page.goto(`${base}/admin/suppressions`);
    await page.getByLabel('Sprawdź adres e-mail').fill('odbija@example.pl');
    await page.getByRole('button', { name: 'Szukaj' }).click();
    await page.getByText('Ten adres jest zablokowany').waitFor();
    await page.getByRole('button', { name: 'Zdejmij blokadę' }).click();
    await page.getByText('Blokada została zdjęta.').waitFor();
    assert.ok((await auditRows()).some((r) => r.action === 'suppression.lift' && r.actor === OPERATOR.email));
    await context.close();
  });
});
