import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

describe('Prometheus alert rules', () => {
  it('are valid and fire PowiadomSmtpUnreachable and PowiadomBounceMailboxUnread when they should (promtool unit tests)', () => {
    const check = spawnSync('promtool', ['check', 'rules', '.ops/prometheus/alerts.yml'], { encoding: 'utf8' });
    assert.equal(check.error, undefined, 'promtool is missing: install Debian\'s "prometheus" package (.ci/run does)');
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /SUCCESS: \d+ rules found/);
    const unit = spawnSync('promtool', ['test', 'rules', '.ops/prometheus/alerts.test.yml'], { encoding: 'utf8' });
    assert.equal(unit.status, 0, unit.stdout + unit.stderr);
    assert.match(unit.stdout + unit.stderr, /SUCCESS/);
  });
});
