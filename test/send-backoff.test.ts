import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SendBackoff } from '../workers/send-backoff.ts';

describe('send queue backoff during an SMTP outage', () => {
  it('counts one outage once however many concurrent batches report it', () => {
    const backoff = new SendBackoff(1_000);
    const now = 1_000_000;
    const first = backoff.pause(now);
    assert.ok(first >= 500 && first <= 1_000, `first pause ${first}`);
    // seven more batches fail during that pause: they join it
    for (let i = 1; i <= 7; i++) assert.equal(backoff.pause(now + i * 10), first - i * 10);
    assert.equal(backoff.consecutive, 1);
  });

  it('doubles the pause when the server is still down after it, up to ten minutes', () => {
    const backoff = new SendBackoff(1_000);
    let now = 0;
    const pauses: number[] = [];
    for (let i = 0; i < 14; i++) {
      const pause = backoff.pause(now);
      pauses.push(pause);
      now += pause;
    }
    assert.equal(backoff.consecutive, 14);
    pauses.forEach((pause, i) => {
      const base = Math.min(600_000, 1_000 * 2 ** i);
      assert.ok(pause >= base / 2 && pause <= base, `pause ${i + 1}: ${pause} not within [${base / 2}, ${base}]`);
    });
  });

  it('starts again from the first pause once a batch reached the server', () => {
    const backoff = new SendBackoff(1_000);
    let now = 0;
    for (let i = 0; i < 5; i++) now += backoff.pause(now);
    backoff.reset();
    assert.equal(backoff.consecutive, 0);
    assert.ok(backoff.pause(now) <= 1_000);
  });
});
