import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import supertest from 'supertest';
import { passwordProblem } from '../src/core/passwords.ts';
import { cookieNames } from '../src/console/session-cookie.ts';
import { createOperator, csrfIn, operatorsCli, passwordPath, signedInAgent } from './helpers/console.ts';
import { ADMIN_TOKEN, startHarness, type Harness } from './helpers/harness.ts';

let h: Harness;
before(async () => {
  h = await startHarness({ label: 'console-accounts', workers: false });
});
after(async () => {
  await h?.close();
});

const basic = `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`;
const sessionCookie = (res: supertest.Response) => ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith('powiadom_console='));

async function auditActions(): Promise<{ actor: string; action: string }[]> {
  return (await h.db.pool.query<{ actor: string; action: string }>('SELECT actor, action FROM audit_log ORDER BY id')).rows;
}

describe('operator accounts', () => {
  it('adds an account with the CLI, prints a one-time link, and lists and disables it', async () => {
    const added = await operatorsCli(h, ['add', 'Anna.Nowak@duw.example', '--role', 'operator']);
    assert.equal(added.code, 0, added.stderr);
    const path = passwordPath(added.stdout);
    assert.match(added.stdout, /valid 24 h/);
    const page = await h.http.get(path).expect(200);
    assert.match(page.text, /Ustaw hasło/);
    const short = await h.http.post(path).type('form').set('Cookie', page.headers['set-cookie']!).send({ password: 'krótkie', confirm: 'krótkie', _csrf: csrfIn(page.text) }).expect(400);
    assert.match(short.text, /co najmniej 12 znaków/);
    const common = await h.http.post(path).type('form').set('Cookie', page.headers['set-cookie']!).send({ password: 'password1234', confirm: 'password1234', _csrf: csrfIn(page.text) }).expect(400);
    assert.match(common.text, /zbyt popularne/);
    await h.http.post(path).type('form').set('Cookie', page.headers['set-cookie']!).send({ password: 'zielony-most-nad-odra', confirm: 'zielony-most-nad-odra', _csrf: csrfIn(page.text) }).expect(303);
    await h.http.get(path).expect(410);

    const listed = await operatorsCli(h, ['list']);
    assert.match(listed.stdout, /anna\.nowak@duw\.example\s+operator/);
    assert.equal((await operatorsCli(h, ['add', 'x@duw.example', '--role', 'boss'])).code, 2);
    const agent = await signedInAgent(h, { email: 'anna.nowak@duw.example', password: 'zielony-most-nad-odra' });
    await agent.get('/admin').expect(200);
    assert.equal((await operatorsCli(h, ['disable', 'anna.nowak@duw.example'])).code, 0);
    await agent.get('/admin').expect(303).expect('Location', '/admin/sign-in');
    const actions = (await auditActions()).map((a) => a.action);
    assert.ok(actions.includes('operator.add') && actions.includes('sign-in') && actions.includes('operator.disable'));
  });

  it('refuses short, common and address-like passwords; accepts a long passphrase', () => {
    assert.equal(passwordProblem('qwerty123456'), 'common');
    assert.equal(passwordProblem('aaaaaaaaaaaaaaaa'), 'common');
    assert.equal(passwordProblem('jan.kowalski-2026', 'jan.kowalski@duw.example'), 'common');
    assert.equal(passwordProblem('abc'), 'short');
    assert.equal(passwordProblem('ciche jezioro o zmierzchu'), null);
  });
});

describe('console sessions', () => {
  it('sets an HttpOnly, SameSite=Strict session cookie, rotated at every sign-in, ended by sign-out', async () => {
    const who = await createOperator(h, 'piotr@duw.example', 'viewer');
    const agent = supertest.agent(h.app);
    await agent.get('/admin').expect(303).expect('Location', '/admin/sign-in');
    const form = await agent.get('/admin/sign-in').expect(200);
    const first = await agent.post('/admin/sign-in').type('form').send({ ...who, _csrf: csrfIn(form.text) }).expect(303).expect('Location', '/admin');
    const cookie = sessionCookie(first)!;
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    assert.match(cookie, /Path=\//);
    const again = await agent.get('/admin/sign-in').expect(200);
    const second = await agent.post('/admin/sign-in').type('form').send({ ...who, _csrf: csrfIn(again.text) }).expect(303);
    assert.notEqual(sessionCookie(second)!.split(';')[0], cookie.split(';')[0], 'a new session id at sign-in');
    await supertest(h.app).get('/admin').set('Cookie', cookie.split(';')[0]!).expect(303); // the old session ended

    const overview = await agent.get('/admin').expect(200);
    await agent.post('/admin/sign-out').type('form').send({ _csrf: csrfIn(overview.text) }).expect(303);
    await supertest(h.app).get('/admin').set('Cookie', sessionCookie(second)!.split(';')[0]!).expect(303);
  });

  it('uses __Host- cookies and Secure under https', () => {
    assert.deepEqual(cookieNames('https://powiadom.duw.example'), { session: '__Host-powiadom_console', signIn: '__Host-powiadom_console_signin', challenge: '__Host-powiadom_console_2fa', secure: true });
    assert.equal(cookieNames('http://localhost:3000').secure, false);
  });

  it('ends a session idle for longer than CONSOLE_IDLE_MINUTES, and one older than CONSOLE_SESSION_HOURS', async () => {
    const who = await createOperator(h, 'idle@duw.example', 'viewer');
    const agent = await signedInAgent(h, who);
    await agent.get('/admin').expect(200);
    await h.db.pool.query(`UPDATE operator_sessions SET last_seen_at = now() - interval '31 minutes' WHERE operator_id = (SELECT id FROM operators WHERE email = $1)`, [who.email]);
    await agent.get('/admin').expect(303);
    const other = await signedInAgent(h, who);
    await h.db.pool.query(`UPDATE operator_sessions SET created_at = now() - interval '13 hours' WHERE operator_id = (SELECT id FROM operators WHERE email = $1)`, [who.email]);
    await other.get('/admin').expect(303);
  });

  it('refuses a wrong password without telling whether the account exists, and limits attempts per account', async () => {
    const who = await createOperator(h, 'ewa@duw.example', 'viewer');
    const agent = supertest.agent(h.app);
    const form = await agent.get('/admin/sign-in').expect(200);
    const token = csrfIn(form.text);
    const unknown = await agent.post('/admin/sign-in').type('form').send({ email: 'nobody@duw.example', password: 'whatever-whatever', _csrf: token }).expect(401);
    for (let i = 0; i < 10; i++) {
      const wrong = await agent.post('/admin/sign-in').type('form').send({ email: who.email, password: `wrong-password-${i}`, _csrf: token }).expect(401);
      assert.equal(wrong.text.includes('nieprawidłowe'), unknown.text.includes('nieprawidłowe'));
    }
    const blocked = await agent.post('/admin/sign-in').type('form').send({ ...who, _csrf: token }).expect(429);
    assert.ok(Number(blocked.headers['retry-after']) > 0);
    assert.match(blocked.text, /Zbyt wiele prób/);
  });

  it('refuses a sign-in form without its CSRF token or from another origin', async () => {
    const who = await createOperator(h, 'marek@duw.example', 'viewer');
    const agent = supertest.agent(h.app);
    const form = await agent.get('/admin/sign-in').expect(200);
    await agent.post('/admin/sign-in').type('form').send({ ...who, _csrf: 'forged' }).expect(403);
    await agent.post('/admin/sign-in').set('Origin', 'https://evil.example').type('form').send({ ...who, _csrf: csrfIn(form.text) }).expect(403);
    await agent.post('/admin/sign-in').set('Origin', 'http://powiadom.test').type('form').send({ ...who, _csrf: csrfIn(form.text) }).expect(303);
  });
});

describe('break-glass ADMIN_TOKEN and the audit log', () => {
  it('opens every console page with Basic admin:<ADMIN_TOKEN>, audited as "admin token"', async () => {
    await h.http.get('/admin').set('Authorization', basic).expect(200);
    await h.http.get('/admin/audit').set('Authorization', basic).expect(200);
    await h.http.get('/admin').set('Authorization', `Basic ${Buffer.from('admin:wrong-token-wrong').toString('base64')}`).expect(401);
    const page = await h.http.get('/admin').set('Authorization', basic).expect(200);
    await h.http.post('/admin/sign-out').set('Authorization', basic).type('form').send({ _csrf: csrfIn(page.text) }).expect(303);
    const last = (await auditActions()).at(-1)!;
    assert.deepEqual(last, { actor: 'admin token', action: 'sign-out' });
  });

  it('keeps the audit log append-only', async () => {
    await assert.rejects(h.db.pool.query('UPDATE audit_log SET actor = $1', ['someone']), /append-only/);
    await assert.rejects(h.db.pool.query('DELETE FROM audit_log'), /append-only/);
  });

  it('keeps Bull Board and the template previews behind the same sign-in', async () => {
    await h.http.get('/admin/queues').expect(401);
    const board = await h.http.get('/admin/queues').set('Authorization', basic).expect(200);
    assert.doesNotMatch(board.text, /fonts\.(googleapis|gstatic)\.com/);
    assert.doesNotMatch(String(board.headers['content-security-policy']), /https:/, 'nothing from third parties');
    const viewer = await signedInAgent(h, await createOperator(h, 'podglad@duw.example', 'viewer'));
    await viewer.get('/admin/templates').expect(200);
    await viewer.get('/admin/queues').expect(403);
  });
});

describe('admin-API calls in the audit log', () => {
  it('records every successful admin-API change as "admin token", never an address; reads are not recorded', async () => {
    const bearer = `Bearer ${ADMIN_TOKEN}`;
    await h.http.post('/api/topics').set('Authorization', bearer).send({ slug: 'przetargi', name: 'Przetargi' }).expect(201);
    await h.http.post('/api/suppressions').set('Authorization', bearer).send({ email: 'skarga@example.pl', reason: 'complaint' }).expect((r) => assert.ok(r.status < 300));
    await h.http.delete('/api/suppressions/skarga@example.pl').set('Authorization', bearer).expect((r) => assert.ok(r.status < 300));
    await h.http.get('/api/topics').set('Authorization', bearer).expect(200);
    await h.http.post('/api/topics').set('Authorization', bearer).send({ slug: 'Bad Slug' }).expect(400);
    const { eventually } = await import('./helpers/harness.ts');
    const rows = await eventually(async () => {
      const r = (await h.db.pool.query<{ actor: string; action: string; object_id: string }>(`SELECT actor, action, object_id FROM audit_log WHERE action LIKE 'api %' ORDER BY id`)).rows;
      return r.length >= 3 ? r : null;
    }, 60_000, 'three audit entries');
    assert.deepEqual(rows.map((r) => [r.actor, r.action]), [
      ['admin token', 'api POST /api/topics'],
      ['admin token', 'api POST /api/suppressions'],
      ['admin token', 'api DELETE /api/suppressions/:email'],
    ]);
    assert.ok(rows.every((r) => !r.object_id.includes('@')), 'no address in the log');
  });
});
