import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { ConfigError, isLoopbackUrl, parseConfig } from '../src/config.ts';

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

  it('refuses to start without SECRET when PUBLIC_URL is not loopback, whatever NODE_ENV says (issue 10)', () => {
    for (const NODE_ENV of [undefined, 'development', 'test', 'production']) {
      for (const PUBLIC_URL of ['https://powiadomienia.duw.pl', 'http://192.168.1.10:3000', 'http://0.0.0.0:3000', 'http://localhost.evil.example']) {
        assert.throws(() => parseConfig({ ...(NODE_ENV ? { NODE_ENV } : {}), PUBLIC_URL }), (err: Error) => err instanceof ConfigError && /^ {2}SECRET: required/m.test(err.message), `${NODE_ENV} ${PUBLIC_URL}`);
      }
    }
  });

  it('starts without SECRET only on loopback: the zero-config npm start', () => {
    for (const PUBLIC_URL of [undefined, 'http://localhost:3000', 'http://127.0.0.1:8080', 'http://[::1]:3000', 'http://powiadom.localhost']) {
      const config = parseConfig(PUBLIC_URL ? { PUBLIC_URL } : {});
      assert.equal(config.usingDevelopmentSecret, true);
    }
    assert.equal(isLoopbackUrl('http://127.0.0.1.example.com'), false);
  });

  it('requires an https PUBLIC_URL when NODE_ENV=production', () => {
    const secret = 'x'.repeat(40);
    assert.throws(() => parseConfig({ NODE_ENV: 'production', SECRET: secret, PUBLIC_URL: 'http://powiadomienia.duw.pl' }), /PUBLIC_URL: must be an https:\/\/ URL/);
    assert.throws(() => parseConfig({ NODE_ENV: 'production', SECRET: secret, PUBLIC_URL: 'http://localhost:3000' }), /PUBLIC_URL: must be an https:\/\/ URL/);
    assert.equal(parseConfig({ NODE_ENV: 'production', SECRET: secret, PUBLIC_URL: 'https://powiadomienia.duw.pl' }).PUBLIC_URL, 'https://powiadomienia.duw.pl');
  });

  it('the process refuses a public PUBLIC_URL without SECRET, naming SECRET, and exits with status 1', () => {
    const env: NodeJS.ProcessEnv = { ...process.env, PUBLIC_URL: 'https://powiadomienia.duw.pl', DATABASE_URL: 'postgres://127.0.0.1:1/none' };
    delete env.SECRET;
    delete env.NODE_ENV;
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /SECRET: required unless PUBLIC_URL is a loopback address/);
  });

  it('trusts X-Forwarded-For only when TRUST_PROXY is set', () => {
    assert.equal(parseConfig({}).TRUST_PROXY, false);
    assert.equal(parseConfig({ TRUST_PROXY: '1' }).TRUST_PROXY, 1);
    assert.equal(parseConfig({ TRUST_PROXY: 'true' }).TRUST_PROXY, true);
    assert.equal(parseConfig({ TRUST_PROXY: '2' }).TRUST_PROXY, 2);
    assert.equal(parseConfig({ TRUST_PROXY: 'loopback' }).TRUST_PROXY, 'loopback');
  });
});
