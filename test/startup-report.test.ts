import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../src/config.ts';
import { describeStartup } from '../src/process/startup-report.ts';
import { startHarness, type Harness } from './helpers/harness.ts';

const SECRET = 'startup-secret-0123456789-0123456789-0123456789';

describe('start-up summary and warnings', () => {
  it('names roles, public URL, SMTP target without the password, admin state and feeds in one summary', () => {
    const config = parseConfig({
      SMTP_URL: 'smtp://relay-user:hunter2-password@smtp.example.pl:2525',
      ADMIN_TOKEN: 'admin-token-0123456789',
      PUBLIC_URL: 'https://powiadom.example.pl',
      SECRET,
      FEEDS: 'https://www.example.pl/rss.xml?key=abc|komunikaty,https://user:pw@www.example.pl/atom.xml',
    });
    const report = describeStartup(config, 'all');
    assert.deepEqual(report.summary.roles, ['api', 'worker']);
    assert.equal(report.summary.publicUrl, 'https://powiadom.example.pl');
    assert.equal(report.summary.mail, 'smtp://smtp.example.pl:2525');
    assert.equal(report.summary.outbox, false);
    assert.match(report.summary.admin, /^enabled/);
    assert.deepEqual(report.summary.feeds, ['https://www.example.pl/rss.xml|komunikaty', 'https://www.example.pl/atom.xml']);
    const everything = JSON.stringify(report);
    for (const secret of ['hunter2', 'relay-user', 'key=abc', 'pw@', 'admin-token']) assert.ok(!everything.includes(secret), secret);
    assert.deepEqual(report.warnings, []);
  });

  it('warns when ADMIN_TOKEN is unset and when production has no SMTP_URL', () => {
    const config = parseConfig({ NODE_ENV: 'production', SECRET, PUBLIC_URL: 'https://powiadom.example.pl' });
    const report = describeStartup(config, 'all');
    assert.equal(report.summary.mail, 'outbox:outbox');
    assert.equal(report.summary.outbox, true);
    assert.equal(report.summary.admin, 'disabled: ADMIN_TOKEN is not set');
    assert.equal(report.warnings.length, 2);
    assert.match(report.warnings[0]!, /ADMIN_TOKEN is not set/);
    assert.match(report.warnings[1]!, /SMTP_URL is not set in production/);
  });

  it('warns each role only about what it serves', () => {
    const config = parseConfig({ NODE_ENV: 'production', SECRET, PUBLIC_URL: 'https://powiadom.example.pl' });
    assert.deepEqual(describeStartup(config, 'api').warnings.map((w) => w.split(' ')[0]), ['ADMIN_TOKEN']);
    assert.deepEqual(describeStartup(config, 'worker').warnings.map((w) => w.split(' ')[0]), ['SMTP_URL']);
    assert.deepEqual(describeStartup(parseConfig({}), 'worker').warnings, [], 'the development outbox is no surprise');
  });
});

describe('.env file', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'powiadom-env-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs loadConfig() in a child whose working directory is `dir`, printing a few values. */
  function configIn(env: Record<string, string>): Record<string, unknown> {
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const config = pathToFileURL(path.resolve('src/config.ts')).href;
    const script = `const { loadConfig } = await import(${JSON.stringify(config)}); const c = loadConfig(); console.log(JSON.stringify({ PORT: c.PORT, LOG_LEVEL: c.LOG_LEVEL, QUEUE_PREFIX: c.QUEUE_PREFIX }));`;
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['PORT', 'LOG_LEVEL', 'QUEUE_PREFIX'].includes(k)));
    const result = spawnSync(process.execPath, ['--import', tsx, '--input-type=module', '-e', script], { cwd: dir, env: { ...base, ...env }, encoding: 'utf8', timeout: 60_000 });
    assert.equal(result.status, 0, result.stderr);
    return JSON.parse(result.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
  }

  it('is read when present, and the real environment wins over it', () => {
    writeFileSync(path.join(dir, '.env'), '# comment\nPORT=5055\nLOG_LEVEL=warn\nQUEUE_PREFIX="from-file"\n');
    assert.deepEqual(configIn({}), { PORT: 5055, LOG_LEVEL: 'warn', QUEUE_PREFIX: 'from-file' });
    assert.deepEqual(configIn({ PORT: '4044' }), { PORT: 4044, LOG_LEVEL: 'warn', QUEUE_PREFIX: 'from-file' });
  });

  it('is optional', () => {
    rmSync(path.join(dir, '.env'));
    assert.deepEqual(configIn({}), { PORT: 3000, LOG_LEVEL: 'info', QUEUE_PREFIX: 'powiadom' });
  });
});

describe('proxy hint', () => {
  let plain: Harness;
  let trusting: Harness;
  before(async () => {
    [plain, trusting] = await Promise.all([
      startHarness({ workers: false, label: 'proxyhint' }),
      startHarness({ workers: false, label: 'proxytrust', env: { TRUST_PROXY: '1' } }),
    ]);
  });
  after(async () => {
    await Promise.all([plain.close(), trusting.close()]);
  });

  const hints = (h: Harness) => h.logs.filter((line) => line.includes('TRUST_PROXY is not set'));

  it('warns once when X-Forwarded-For arrives from a private address while TRUST_PROXY is off', async () => {
    await plain.http.get('/healthz').expect(200);
    assert.equal(hints(plain).length, 0, 'no header, no hint');
    await plain.http.get('/healthz').set('X-Forwarded-For', '203.0.113.7').expect(200);
    await plain.http.get('/healthz').set('X-Forwarded-For', '203.0.113.8').expect(200);
    assert.equal(hints(plain).length, 1);
    assert.equal(JSON.parse(hints(plain)[0]!).level, 40);
  });

  it('stays quiet when TRUST_PROXY is set', async () => {
    await trusting.http.get('/healthz').set('X-Forwarded-For', '203.0.113.7').expect(200);
    assert.equal(hints(trusting).length, 0);
  });
});
