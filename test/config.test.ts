import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { ConfigError, parseConfig } from '../src/config.ts';

describe('configuration', () => {
  it('needs nothing in development and derives PUBLIC_URL from PORT', () => {
    const config = parseConfig({ PORT: '4000' });
    assert.equal(config.PUBLIC_URL, 'http://localhost:4000');
    assert.equal(config.REDIS_URL, 'redis://127.0.0.1:6379');
    assert.equal(config.SUBSCRIBE_LIMIT_PER_IP, 20);
    assert.equal(config.TRUST_PROXY, false);
    assert.equal(config.usingDevelopmentSecret, true);
    assert.equal(config.ADMIN_TOKEN, undefined);
  });

  it('requires SECRET and PUBLIC_URL in production', () => {
    assert.throws(() => parseConfig({ NODE_ENV: 'production' }), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /SECRET: required/);
      assert.match(err.message, /PUBLIC_URL: required/);
      return true;
    });
  });

  it('names every bad variable at once', () => {
    assert.throws(
      () => parseConfig({ PORT: 'abc', REDIS_URL: 'http://redis', SMTP_URL: 'ftp://x', SECRET: 'short', SUBSCRIBE_LIMIT_PER_IP: '-1' }),
      (err: Error) => {
        for (const name of ['PORT', 'REDIS_URL', 'SMTP_URL', 'SECRET', 'SUBSCRIBE_LIMIT_PER_IP']) assert.match(err.message, new RegExp(`${name}:`));
        return true;
      },
    );
  });

  it('the process prints the problems and exits with status 1', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, PORT: 'abc', SECRET: 'short', DATABASE_URL: 'postgres://127.0.0.1:1/none' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /Invalid configuration/);
    assert.match(result.stderr, /PORT:/);
    assert.match(result.stderr, /SECRET:/);
  });

  it('trusts X-Forwarded-For only when TRUST_PROXY is set', () => {
    assert.equal(parseConfig({}).TRUST_PROXY, false);
    assert.equal(parseConfig({ TRUST_PROXY: '1' }).TRUST_PROXY, 1);
    assert.equal(parseConfig({ TRUST_PROXY: 'true' }).TRUST_PROXY, true);
    assert.equal(parseConfig({ TRUST_PROXY: '2' }).TRUST_PROXY, 2);
    assert.equal(parseConfig({ TRUST_PROXY: 'loopback' }).TRUST_PROXY, 'loopback');
  });
});
