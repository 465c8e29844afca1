import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hashEmail } from '../src/core/email-address.ts';
import { startHarness, type Harness } from './helpers/harness.ts';

const FIXTURES = new URL('./fixtures', import.meta.url).pathname;
let h: Harness;
let dir: string;
before(async () => {
  h = await startHarness({ label: 'cli', workers: false });
  dir = await mkdtemp(join(tmpdir(), 'powiadom-cli-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
  await h.close();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as a child process against the harness's database, Redis prefix and SMTP server. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', ...args],
      {
        env: {
          PATH: process.env.PATH ?? '',
          NODE_ENV: 'test',
          DATABASE_URL: h.config.DATABASE_URL,
          REDIS_URL: h.config.REDIS_URL,
          QUEUE_PREFIX: h.config.QUEUE_PREFIX,
          SMTP_URL: h.smtp.url,
          LOG_LEVEL: 'warn',
          ...env,
        },
        timeout: 30_000,
      },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function file(name: string, content: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

describe('cli usage', () => {
  it('prints help listing every command and exits 0', async () => {
    const run = await cli(['--help']);
    assert.equal(run.code, 0);
    for (const command of ['status', 'publish', 'retry', 'subscribers', 'suppressions', 'migrate']) assert.match(run.stdout, new RegExp(`\\b${command}\\b`));
    assert.match(run.stdout, /Exit status: 0 done, 1 failed.*2 wrong usage/);
  });

  it('exits 2 without a command, with an unknown command and with a missing argument', async () => {
    const [none, unknown, noFile, noSubcommand] = await Promise.all([cli([]), cli(['frobnicate']), cli(['publish']), cli(['subscribers'])]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command/);
    assert.deepEqual([none.code, noFile.code, noSubcommand.code], [2, 2, 2]);
  });

  it('migrate reports an up-to-date database', async () => {
    const run = await cli(['migrate']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /up to date/);
  });

  it('exits 1 with a message when PostgreSQL cannot be reached', async () => {
    const run = await cli(['status'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere' });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^Error: /m);
  });
});

describe('cli publish', () => {
  it('publishes the markdown export with its Warsaw date, summary and topic from the URL; too old to notify without --force', async () => {
    const run = await cli(['publish', `${FIXTURES}/wizyta-ambasadora-kazachstanu.md`]);
    assert.equal(run.code, 0, run.stderr);
    // Published in 2024: recorded, not notified, and the CLI says why and what to do.
    assert.match(run.stdout, /^Article \d+ recorded without notification: Wizyta Ambasadora Kazachstanu \[dla-mediow\]/);
    assert.match(run.stdout, /more than 72 h ago \(MAX_ARTICLE_AGE_HOURS\)/);
    assert.match(run.stdout, /--force/);
    const forced = await cli(['publish', `${FIXTURES}/wizyta-ambasadora-kazachstanu.md`, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /already known; notification queued now \(--force\)/);
    const { rows } = await h.db.pool.query('SELECT * FROM articles WHERE url LIKE $1', ['%9109,Wizyta-Ambasadora-Kazachstanu.html']);
    assert.equal(rows.length, 1);
    assert.equal((rows[0].published_at as Date).toISOString(), '2024-04-27T23:03:00.000Z');
    assert.deepEqual(rows[0].topics, ['dla-mediow']);
    assert.match(rows[0].summary, /^Wojewoda Tomasz Smolarz .* Erikiem Utembajewem\.$/);
    assert.equal(rows[0].source, 'Dolnośląski Urząd Wojewódzki');
    assert.ok(await h.deps.queues.fanout.getJob(`fanout-${rows[0].id}`), 'fan-out job queued');
  });

  it('knows the JSON article published as markdown before (same canonical URL, other guid): one article', async () => {
    const first = await cli(['publish', `${FIXTURES}/wizyta-ambasadora-kazachstanu.json`, '--topic', 'komunikaty']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /already known/);
    const again = await cli(['publish', `${FIXTURES}/wizyta-ambasadora-kazachstanu.json`]);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /already known/);
    const { rows } = await h.db.pool.query("SELECT guid, topics FROM articles WHERE url LIKE '%9109,Wizyta-Ambasadora-Kazachstanu.html'");
    assert.equal(rows.length, 1);
    assert.deepEqual(rows[0].topics, ['dla-mediow']);
  });

  it('refuses other file types (2), missing files and invalid articles (1)', async () => {
    const [txt, missing, bad, unknownTopic] = await Promise.all([
      cli(['publish', await file('a.txt', 'x')]),
      cli(['publish', join(dir, 'missing.json')]),
      cli(['publish', await file('bad.json', JSON.stringify({ url: 'ftp://x', title: '', topics: ['nie-ma'] }))]),
      cli(['publish', await file('t.json', JSON.stringify({ url: 'https://duw.example/a', title: 'T', topics: ['nie-ma-takiego'] }))]),
    ]);
    assert.equal(txt.code, 2);
    assert.equal(missing.code, 1);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /url/);
    assert.equal(unknownTopic.code, 1);
    assert.match(unknownTopic.stderr, /Unknown topic/);
  });
});

describe('cli subscribers', () => {
  it('imports a CSV, exits 1 when a row is invalid, and exports what it imported', async () => {
    const csv = await file('subs.csv', 'email,topics,lang,consentSource\nola@example.pl,dla-mediow;komunikaty,pl,paper form\njan@example.pl,,en,\n');
    const run = await cli(['subscribers', 'import', csv]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /created 2, updated 0, skipped 0, invalid 0/);
    const withBad = await cli(['subscribers', 'import', await file('bad.json', JSON.stringify([{ email: 'not-an-address' }, { email: 'ewa@example.pl' }]))]);
    assert.equal(withBad.code, 1, withBad.stderr);
    assert.match(withBad.stderr, /row 1: email/);
    const [csvOut, jsonOut, xmlOut] = await Promise.all([cli(['subscribers', 'export']), cli(['subscribers', 'export', '--format', 'json']), cli(['subscribers', 'export', '--format', 'xml'])]);
    assert.equal(csvOut.code, 0, csvOut.stderr);
    assert.match(csvOut.stdout, /^email,topics,lang,consentSource,status,createdAt$/m);
    assert.match(csvOut.stdout, /^ola@example\.pl,dla-mediow;komunikaty,pl,paper form,active,/m);
    const exported = JSON.parse(jsonOut.stdout) as { email: string }[];
    assert.deepEqual(exported.map((s) => s.email).sort(), ['ewa@example.pl', 'jan@example.pl', 'ola@example.pl']);
    assert.equal(xmlOut.code, 2);
  });

  it('finds by part of an address and erases by id; erasing again exits 1', async () => {
    const found = await cli(['subscribers', 'find', 'ola', '--json']);
    assert.equal(found.code, 0);
    const [ola] = JSON.parse(found.stdout) as { id: number; email: string }[];
    assert.equal(ola!.email, 'ola@example.pl');
    assert.equal((await cli(['subscribers', 'erase', String(ola!.id)])).code, 0);
    const { rowCount } = await h.db.pool.query('SELECT 1 FROM subscribers WHERE id = $1', [ola!.id]);
    assert.equal(rowCount, 0);
    const again = await cli(['subscribers', 'erase', String(ola!.id)]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /not found/);
    assert.equal((await cli(['subscribers', 'erase', 'abc'])).code, 2);
  });
});

describe('cli suppressions', () => {
  it('adds, lists and removes a suppression by address; removing twice exits 1', async () => {
    const add = await cli(['suppressions', 'add', 'Spam@Example.pl', '--reason', 'complaint', '--note', 'reported']);
    assert.equal(add.code, 0, add.stderr);
    const hash = hashEmail('spam@example.pl');
    const list = await cli(['suppressions', 'list']);
    assert.match(list.stdout, new RegExp(`${hash}\\s+complaint`));
    assert.doesNotMatch(list.stdout, /spam@example/i);
    assert.equal((await cli(['suppressions', 'remove', 'spam@example.pl'])).code, 0);
    assert.equal((await cli(['suppressions', 'remove', 'spam@example.pl'])).code, 1);
  });

  it('exits 2 without --reason, with an unknown reason or a malformed address', async () => {
    const runs = await Promise.all([
      cli(['suppressions', 'add', 'a@example.pl']),
      cli(['suppressions', 'add', 'a@example.pl', '--reason', 'erased']),
      cli(['suppressions', 'add', 'no-at-sign', '--reason', 'manual']),
    ]);
    assert.deepEqual(runs.map((r) => r.code), [2, 2, 2], runs.map((r) => r.stderr).join('\n'));
    assert.equal((await h.db.pool.query('SELECT 1 FROM suppressions WHERE email_hash = $1', [hashEmail('a@example.pl')])).rowCount, 0);
  });
});

describe('cli status and retry', () => {
  it('status shows every queue, subscribers and the last articles; --json matches the database', async () => {
    const run = await cli(['status']);
    assert.equal(run.code, 0, run.stderr);
    for (const q of h.deps.queues.all()) assert.match(run.stdout, new RegExp(`^${q.name}\\s`, 'm'));
    assert.match(run.stdout, /Wizyta Ambasadora Kazachstanu/);
    const json = JSON.parse((await cli(['status', '--json'])).stdout);
    const { rows } = await h.db.pool.query("SELECT count(*)::int AS n FROM subscribers WHERE status = 'active'");
    assert.equal(json.subscribers.byStatus.active, rows[0].n);
  });

  it('retry puts failed deliveries (not suppressed ones) back to pending and enqueues send jobs; unknown article exits 1', async () => {
    const { rows: subs } = await h.db.pool.query<{ id: number }>('SELECT id FROM subscribers ORDER BY id');
    const { rows: arts } = await h.db.pool.query<{ id: number }>("SELECT id FROM articles WHERE url LIKE '%9109,Wizyta-Ambasadora-Kazachstanu.html'");
    const articleId = arts[0]!.id;
    await h.db.pool.query(
      `INSERT INTO deliveries (article_id, subscriber_id, status, last_error) VALUES ($1, $2, 'failed', '550 no'), ($1, $3, 'suppressed', 'suppressed')`,
      [articleId, subs[0]!.id, subs[1]!.id],
    );
    const run = await cli(['retry', String(articleId)]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /1 failed deliveries queued again in 1 send jobs/);
    const { rows } = await h.db.pool.query('SELECT status, last_error FROM deliveries WHERE article_id = $1 ORDER BY id', [articleId]);
    assert.deepEqual(rows.map((r) => r.status), ['pending', 'suppressed']);
    assert.equal(rows[0].last_error, null);
    const jobs = await h.deps.queues.send.getJobs(['waiting', 'delayed', 'prioritized']);
    assert.ok(jobs.some((j) => j.data.articleId === articleId), 'a send job for the article');
    const [unknown, malformed] = await Promise.all([cli(['retry', '999999']), cli(['retry', 'x'])]);
    assert.equal(unknown.code, 1, unknown.stderr);
    assert.match(unknown.stderr, /Article 999999 not found/);
    assert.equal(malformed.code, 2, malformed.stderr);
    assert.match(malformed.stderr, /"x" is not an article id/);
  });

  it('refuses a malformed id with exit 2 before connecting to anything', async () => {
    const nowhere = { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none', REDIS_URL: 'redis://127.0.0.1:1' };
    for (const args of [['retry', 'x'], ['retry', '-1'], ['subscribers', 'erase', '1.5']]) {
      const run = await cli(args, nowhere);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, /is not (an article|a subscriber) id/);
    }
  });
});
