import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import supertest from 'supertest';
import { OperatorTotp } from '../src/core/operator-totp.ts';
import { matchTotpStep, normalizeRecoveryCode, openSecret, sealSecret, totpCode, totpKey } from '../src/core/totp.ts';
import { SIGN_IN_LIMITS } from '../src/console/context.ts';
import { EXIT } from '../src/cli/context.ts';
import { runResetOperatorTotp } from '../src/cli/operators.ts';
import { createOperator, csrfIn } from './helpers/console.ts';
import { startHarness, type Harness } from './helpers/harness.ts';

let h: Harness;
before(async () => {
  h = await startHarness({ label: 'console-totp', workers: false });
});
after(async () => {
  await h?.close();
});

/** Creates an operator with TOTP on (through the service); returns the secret. */
async function withTotp(email: string, password: string): Promise<string> {
  const { rows } = await h.db.pool.query<{ id: number }>(`SELECT id FROM operators WHERE email = $1`, [(await createOperator(h, email, 'operator', password)).email]);
  const totp = new OperatorTotp(h.deps.pool, h.config.SECRET);
  assert.equal(await totp.begin(rows[0]!.id), true);
  const status = await totp.status(rows[0]!.id);
  assert.equal(status?.state, 'pending');
  const secret = status.state === 'pending' ? status.secret : '';
  assert.equal((await totp.confirm(rows[0]!.id, totpCode(secret)))?.length, 10);
  return secret;
}

describe('TOTP codes', () => {
  it('computes RFC 6238 SHA-1 codes (the RFC\'s test vectors, 6 digits) and accepts one step of drift either way', () => {
    const rfcSecret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'; // ASCII "12345678901234567890"
    assert.equal(totpCode(rfcSecret, 59_000), '287082');
    assert.equal(totpCode(rfcSecret, 1_111_111_109_000), '081804');
    assert.equal(matchTotpStep(rfcSecret, '081804', 1_111_111_109_000), 37_037_036);
    assert.equal(matchTotpStep(rfcSecret, '081804', 1_111_111_109_000 + 30_000), 37_037_036);
    assert.equal(matchTotpStep(rfcSecret, '081804', 1_111_111_109_000 + 60_000), null);
    assert.equal(matchTotpStep(rfcSecret, 'abcdef'), null);
  });

  it('seals secrets with AES-GCM under a key from SECRET, and recovery codes are read in any case', () => {
    const key = totpKey('x'.repeat(40));
    const sealed = sealSecret(key, 'JBSWY3DPEHPK3PXP');
    assert.equal(openSecret(key, sealed), 'JBSWY3DPEHPK3PXP');
    assert.throws(() => openSecret(totpKey('y'.repeat(40)), sealed));
    assert.equal(normalizeRecoveryCode(' ABCDE FGHJK MNPQR '), 'abcde-fghjk-mnpqr');
    assert.equal(normalizeRecoveryCode('abc'), null);
  });
});

describe('signing in with TOTP', () => {
  it('gives no session after the password alone, and limits wrong codes like wrong passwords (429 even for the right code)', async () => {
    const who = { email: 'limit.totp@duw.example', password: 'gruby-kot-na-parapecie' };
    const secret = await withTotp(who.email, who.password);
    const agent = supertest.agent(h.app);
    const form = await agent.get('/admin/sign-in').expect(200);
    const csrf = csrfIn(form.text);
    await agent.post('/admin/sign-in').type('form').send({ email: who.email, password: who.password, _csrf: csrf }).expect(303).expect('Location', '/admin/sign-in/code');
    await agent.get('/admin').expect(303).expect('Location', '/admin/sign-in');
    await agent.get('/admin/sign-in/code').expect(200);
    for (let i = 0; i < SIGN_IN_LIMITS.perAccount; i++) await agent.post('/admin/sign-in/code').type('form').send({ code: '000000', _csrf: csrf }).expect(401);
    const limited = await agent.post('/admin/sign-in/code').type('form').send({ code: totpCode(secret), _csrf: csrf }).expect(429);
    assert.ok(Number(limited.headers['retry-after']) > 0);
    await agent.get('/admin').expect(303);
    const refused = (await h.db.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE actor = $1 AND action = 'sign-in.code-refused'`, [who.email])).rows[0].n;
    assert.equal(refused, SIGN_IN_LIMITS.perAccount);
  });

  it('refuses a code posted without the sign-in form\'s CSRF token, and sends a missing challenge back to the password', async () => {
    const agent = supertest.agent(h.app);
    const form = await agent.get('/admin/sign-in').expect(200);
    await agent.post('/admin/sign-in/code').type('form').send({ code: '123456', _csrf: 'forged' }).expect(403);
    await agent.post('/admin/sign-in/code').type('form').send({ code: '123456', _csrf: csrfIn(form.text) }).expect(303).expect('Location', '/admin/sign-in?done=codeExpired');
    await agent.get('/admin/sign-in/code').expect(303);
  });

  it('`operators reset-totp` (case-insensitive address) turns an operator\'s TOTP off, drops the recovery codes and is audited', async () => {
    const who = { email: 'zgubiony.telefon@duw.example', password: 'stara-lipa-przy-rynku' };
    await withTotp(who.email, who.password);
    // In-process (the command's wiring is one line in src/cli/main.ts): a child CLI process exceeds the
    // helper's 60 s on the loaded shared machine.
    assert.equal(await runResetOperatorTotp(h.deps, who.email.toUpperCase()), EXIT.ok);
    const row = (await h.db.pool.query(`SELECT id, totp_secret, (SELECT count(*)::int FROM operator_recovery_codes r WHERE r.operator_id = o.id) AS codes FROM operators o WHERE email = $1`, [who.email])).rows[0];
    assert.equal(row.totp_secret, null);
    assert.equal(row.codes, 0);
    const audit = (await h.db.pool.query(`SELECT actor, object_id FROM audit_log WHERE action = 'operator.reset-totp'`)).rows;
    assert.deepEqual(audit, [{ actor: 'cli', object_id: String(row.id) }]);
    assert.equal(await runResetOperatorTotp(h.deps, who.email), EXIT.error);
  });
});
