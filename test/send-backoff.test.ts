import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { after, describe, it } from 'node:test';
import { createLogger } from '../src/log.ts';
import { pauseLength, SendPause } from '../workers/send-pause.ts';
import { deleteKeysWithPrefix, TEST_REDIS_URL } from './helpers/redis.ts';

const prefix = `powiadom-test-${process.pid}-${randomBytes(3).toString('hex')}`;
const redis = new Redis(TEST_REDIS_URL);
const log = createLogger('silent');
const down = () => Promise.reject(new Error('still down'));

after(async () => {
  await deleteKeysWithPrefix(prefix);
  redis.disconnect();
});

describe('send queue pause during an SMTP outage (shared by every process through Redis)', () => {
  it('counts one outage once however many concurrent batches, in however many processes, report it', async () => {
    // two "processes": two SendPause objects on the same queue
    const pauses = [new SendPause(redis, `${prefix}:a`, 1_000, down, log), new SendPause(redis, `${prefix}:a`, 1_000, down, log)];
    const lengths = await Promise.all(Array.from({ length: 8 }, (_, i) => pauses[i % 2]!.hold('configuration')));
    assert.ok(lengths.every((ms) => ms > 0 && ms <= 1_000), `pauses ${lengths.join(', ')}`);
    assert.equal(await pauses[0]!.consecutive(), 1);
    // the queue's BullMQ rate-limit key is set: every worker of the queue waits
    assert.ok((await redis.pttl(`${prefix}:a:send:limiter`)) > 0);
  });

  it('doubles the pause of consecutive outages from SEND_BACKOFF_MS up to ten minutes, with jitter', () => {
    for (let outage = 1; outage <= 14; outage++) {
      const base = Math.min(600_000, 1_000 * 2 ** (outage - 1));
      const pause = pauseLength(1_000, outage);
      assert.ok(pause >= base / 2 && pause <= base, `pause ${outage}: ${pause} not within [${base / 2}, ${base}]`);
    }
  });

  it('starts again from the first pause once a batch reached the server, and lifts at once', async () => {
    const pause = new SendPause(redis, `${prefix}:b`, 1_000, down, log);
    await redis.set(`${prefix}:b:send:smtp-outages`, '5');
    await pause.reset();
    assert.equal(await pause.consecutive(), 0);
    assert.ok((await pause.hold('configuration')) <= 1_000);
    await pause.lift();
    assert.equal(await redis.pttl(`${prefix}:b:send:limiter`), -2);
    assert.equal(await redis.pttl(`${prefix}:b:send:smtp-pause`), -2);
  });

  it('lifts a pause for an unavailable server as soon as the probe succeeds', async () => {
    let up = false;
    const pause = new SendPause(redis, `${prefix}:c`, 60_000, () => (up ? Promise.resolve() : Promise.reject(new Error('down'))), log);
    assert.ok((await pause.hold('server-unavailable')) >= 30_000);
    up = true;
    const deadline = Date.now() + 30_000;
    while ((await redis.pttl(`${prefix}:c:send:smtp-pause`)) > 0) {
      assert.ok(Date.now() < deadline, 'the pause was not lifted');
      await new Promise((r) => setTimeout(r, 50));
    }
  });
});
