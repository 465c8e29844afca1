import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { importSubscribers } from '../src/core/subscriber-import.ts';
import { eventually, startHarness, type Harness } from './helpers/harness.ts';

// `digest run daily|weekly` and `digest status` as an operator runs them, against a running worker.
let h: Harness;
before(async () => {
  h = await startHarness({ label: 'digestcli' });
  await importSubscribers(h.deps.pool, [{ email: 'cli.daily@example.pl', topics: 'komunikaty', frequency: 'daily' }]);
  await h.deps.articles.publish({ url: 'https://www.duw.pl/pl/cli', title: 'Komunikat z wiersza poleceń', topics: ['komunikaty'] });
});
after(async () => {
  await h.close();
});

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', ...args],
      { env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', DATABASE_URL: h.config.DATABASE_URL, REDIS_URL: h.config.REDIS_URL, QUEUE_PREFIX: h.config.QUEUE_PREFIX, LOG_LEVEL: 'warn' }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('digest CLI', () => {
  it('runs a daily digest that the workers send, and shows it in digest status', async () => {
    const run = await cli(['digest', 'run', 'daily']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^Digest run #\d+ \(daily\) created: 1 new articles/);
    await eventually(() => h.smtp.to('cli.daily@example.pl').find((m) => /^Message-ID: <digest-/im.test(m.raw)), 60_000, 'the digest');
    const status = await eventually(async () => {
      const s = await cli(['digest', 'status']);
      return /finished/.test(s.stdout) ? s : null;
    }, 60_000, 'run finished in digest status');
    assert.match(status.stdout, /#\d+ daily manual .* 1 articles {2}recipients 1, sent 1, failed 0, pending 0, suppressed 0 {2}\(finished /);
    const json = await cli(['digest', 'status', '--json']);
    assert.equal(JSON.parse(json.stdout)[0].delivery.sent, 1);
  });

  it('refuses an unknown frequency with exit status 2', async () => {
    const res = await cli(['digest', 'run', 'hourly']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /hourly/);
  });
});
