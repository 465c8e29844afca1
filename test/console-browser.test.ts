import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { claimInboundMessage, finishInboundMessage, recordMailboxPoll } from '../src/db/inbound-queries.ts';
import { BROKEN, COMPLAINER, OPERATOR, POSTMARK_SECRET, signIn, startConsoleWorld, VIEWER, type ConsoleWorld } from './helpers/console-browser.ts';
import { eventually, type Harness } from './helpers/harness.ts';

let w: ConsoleWorld;
let h: Harness;
let browser: Browser;
let base: string;

before(async () => {
  w = await startConsoleWorld('console-browser', { deliver: true });
  ({ h, browser, base } = w);
});
after(async () => {
  await w?.close();
});

async function auditRows(): Promise<{ actor: string; action: string; detail: Record<string, unknown> }[]> {
  return (await h.db.pool.query(`SELECT actor, action, detail FROM audit_log ORDER BY id`)).rows;
}

describe('the operators\' console in a browser', () => {
  it('an operator does the daily tasks: what was sent, the complaining subscriber, why an e-mail failed, unsubscribe, send the link', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await signIn(w, context, OPERATOR);
    // What was sent today.
    await page.getByRole('heading', { name: 'Przegląd' }).waitFor();
    // Columns: sent, failed, deferred, skipped; the article went to three subscribers, one address was rejected.
    const notifications = page.locator('table:has(#mail-today) tr', { hasText: 'powiadomienie o artykule' });
    assert.match(await notifications.innerText(), /powiadomienie o artykule\s+2\s+1\s+0\s+0/);
    assert.match(await page.locator('table:has(#mail-week) tr', { hasText: 'powiadomienie o artykule' }).innerText(), /powiadomienie o artykule\s+2\s+1\s+0\s+0/);
    assert.match(await page.locator('table:has(#changes) tr', { hasText: 'nowe zapisy' }).innerText(), /nowe zapisy\s+3\s+3/);
    assert.equal(await page.getByRole('link', { name: 'Wykresy (Grafana)' }).getAttribute('href'), 'https://grafana.duw.example/d/powiadom');

    // Why an e-mail failed: look the address up.
    await page.getByRole('link', { name: 'Subskrybenci' }).click();
    await page.getByLabel('Adres e-mail').fill(BROKEN);
    await page.getByRole('button', { name: 'Szukaj' }).click();
    await page.getByRole('heading', { name: /Subskrybent/ }).waitFor();
    assert.match(await page.locator('#deliveries + .table-scroll').innerText(), /nieudane[\s\S]*User unknown/);

    // The subscriber who complains: what was sent to them, then unsubscribe by phone and send the link.
    await page.getByRole('link', { name: 'Subskrybenci' }).click();
    await page.getByLabel('Adres e-mail').fill(COMPLAINER.toUpperCase());
    await page.getByRole('button', { name: 'Szukaj' }).click();
    assert.match(await page.locator('#deliveries + .table-scroll').innerText(), /Utrudnienia w ruchu[\s\S]*wysłane/);
    await page.getByLabel('Powód (trafi do dziennika zdarzeń)').fill('Prośba telefoniczna, rozmowę przyjęła Anna Nowak');
    await page.getByRole('button', { name: 'Wypisz', exact: true }).click();
    await page.getByText('Wypisano z powiadomień.').waitFor();
    assert.match(await page.locator('.summary').innerText(), /wypisany/);
    await page.getByRole('button', { name: 'Wyślij link do ustawień' }).click();
    await page.getByText('Link do ustawień zostanie wysłany').waitFor();
    // The management-link e-mail goes to a subscriber of any status: one just unsubscribed can use it to come back.
    const mail = await eventually(() => h.smtp.to(COMPLAINER).find((m) => m.parsed.subject === 'Link do ustawień Twoich powiadomień'), 60_000, 'the settings link e-mail');
    assert.match(mail.parsed.text ?? '', /\/preferences\//);
    // The settings link is a transactional e-mail, counted by kind once the worker sent it.
    await page.getByRole('link', { name: 'Przegląd' }).click();
    let row = '';
    await eventually(async () => {
      await page.reload();
      row = await page.locator('table:has(#mail-today) tr', { hasText: /^\s*link do ustawień/ }).innerText();
      return /link do ustawień\s+1\s+0\s+0\s+0/.test(row);
    }, 60_000, 'the settings link e-mail counted on the overview').catch(async (err: Error) => {
      throw new Error(`${err.message}; the row: ${JSON.stringify(row)}; counted: ${JSON.stringify((await h.db.pool.query('SELECT kind, outcome, count FROM mail_outcomes_hourly')).rows)}`);
    });
    assert.match(await page.locator('table:has(#changes) tr', { hasText: 'wypisani' }).innerText(), /wypisani\s+1\s+1/);

    const { rows } = await h.db.pool.query(`SELECT status FROM subscribers WHERE email = $1`, [COMPLAINER]);
    assert.equal(rows[0].status, 'unsubscribed');
    const actions = (await auditRows()).filter((r) => r.actor === 'anna.nowak@duw.example').map((r) => r.action);
    assert.deepEqual(actions, ['sign-in', 'subscriber.unsubscribe', 'subscriber.send-manage-link']);
    assert.equal((await auditRows()).find((r) => r.action === 'subscriber.unsubscribe')!.detail.reason, 'Prośba telefoniczna, rozmowę przyjęła Anna Nowak');

    await page.getByRole('link', { name: 'Dziennik zdarzeń' }).click();
    assert.match(await page.locator('table').innerText(), /anna\.nowak@duw\.example\s+subscriber\.unsubscribe/);
    await context.close();
  });

  it('refuses a form whose CSRF token was tampered with, and changes nothing', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await signIn(w, context, OPERATOR);
    const { rows } = await h.db.pool.query(`SELECT id FROM subscribers WHERE email = 'ola@example.pl'`);
    await page.goto(`${base}/admin/subscribers/${rows[0].id}`);
    await page.locator('form[action$="/unsubscribe"] input[name=_csrf]').evaluate((input: HTMLInputElement) => (input.value = 'forged-token'));
    await page.getByLabel('Powód (trafi do dziennika zdarzeń)').fill('Próba podrobienia formularza');
    const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Wypisz', exact: true }).click()]);
    assert.equal(response.status(), 403);
    await page.getByRole('heading', { name: 'Nie udało się' }).waitFor();
    assert.equal((await h.db.pool.query(`SELECT status FROM subscribers WHERE id = $1`, [rows[0].id])).rows[0].status, 'active');
    await context.close();
  });

  it('a viewer sees no actions and is refused when posting one anyway', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await signIn(w, context, VIEWER);
    const { rows } = await h.db.pool.query(`SELECT id FROM subscribers WHERE email = 'ola@example.pl'`);
    await page.goto(`${base}/admin/subscribers/${rows[0].id}`);
    assert.equal(await page.getByRole('button', { name: 'Wypisz', exact: true }).count(), 0);
    const csrf = await page.locator('form[action^="/admin/sign-out"] input[name=_csrf]').inputValue();
    const refused = await page.request.post(`${base}/admin/subscribers/${rows[0].id}/unsubscribe`, { form: { _csrf: csrf, reason: 'Podgląd nie może wypisywać' }, headers: { Origin: base } });
    assert.equal(refused.status(), 403);
    assert.equal((await h.db.pool.query(`SELECT status FROM subscribers WHERE id = $1`, [rows[0].id])).rows[0].status, 'active');
    await context.close();
  });

  it('an operator sees mail that came back: a provider\'s bounce, an unrecognised message, the mailbox\'s error', async () => {
    await h.http.post(`/api/webhooks/postmark?secret=${POSTMARK_SECRET}`).send({ RecordType: 'Bounce', ID: 991, Type: 'HardBounce', Email: BROKEN, Details: 'smtp;550 5.1.1 unknown' }).expect(200);
    assert.deepEqual((await h.db.pool.query(`SELECT kind, outcome FROM inbound_messages`)).rows, [{ kind: 'bounce', outcome: 'suppressed' }]);
    // What the poller records for a message nobody recognised, and for a pass that could not log in.
    const tx = await h.db.pool.connect();
    await tx.query('BEGIN');
    await claimInboundMessage(tx, 'imap:<list-od-mieszkanca@example.pl>', 'imap', 'unknown');
    await finishInboundMessage(tx, 'imap:<list-od-mieszkanca@example.pl>', 'unknown', null, false, null);
    await tx.query('COMMIT');
    tx.release();
    await recordMailboxPoll(h.db.pool, 'INBOX', false, 'AUTHENTICATIONFAILED Invalid credentials');

    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await signIn(w, context, VIEWER);
    assert.match(await page.locator('#inbound + .table-scroll tr', { hasText: 'Nierozpoznane' }).innerText(), /Nierozpoznane \(do przejrzenia\)\s+1\s+1/);
    assert.match(await page.locator('main').innerText(), /Błąd skrzynki \(INBOX, .*\): AUTHENTICATIONFAILED Invalid credentials/);
    await page.getByRole('link', { name: 'Szczegóły poczty zwrotnej' }).click();
    await page.getByRole('heading', { name: 'Poczta zwrotna', level: 1 }).waitFor();
    // First column: the address suppressed.
    assert.match(await page.locator('#by-kind + .table-scroll tr', { hasText: 'odbicie (DSN)' }).innerText(), /odbicie \(DSN\)\s+1\s/);
    assert.match(await page.locator('#mailboxes + .table-scroll').innerText(), /INBOX[\s\S]*nigdy[\s\S]*AUTHENTICATIONFAILED/);
    await page.getByRole('link', { name: 'English' }).click();
    await page.getByRole('heading', { name: 'Inbound mail', level: 1 }).waitFor();
    assert.match(await page.locator('#attention + .table-scroll tr', { hasText: 'Unrecognised' }).innerText(), /Unrecognised \(for a person\)\s+1\s+1/);
    await context.close();
  });
});
