import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { digestCron, dueSlot, type DigestSchedule } from '../src/core/digest-schedule.ts';
import { DigestService } from '../src/core/digests.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';

// The schedule with an injected clock: a tick every 15 minutes across both daylight-saving changes of 2026 in
// Europe/Warsaw (29 March: 02:00 → 03:00; 25 October: 03:00 → 02:00) creates exactly one run per day, at a
// DIGEST_TIME inside the skipped and the repeated hour too; a real PostgreSQL holds the runs.
let db: TestDatabase;
before(async () => {
  db = await createTestDatabase('digestdst');
});
after(async () => {
  await db.drop();
});

const warsaw = (time: string, weekday: DigestSchedule['weekday'] = 'monday'): DigestSchedule => ({ time, weekday, timeZone: 'Europe/Warsaw' });

/** Ticks the service every `stepMinutes` from `from` to `to` with the clock set to each tick; returns the runs created. */
async function tickThrough(schedule: DigestSchedule, frequency: 'daily' | 'weekly', from: string, to: string, stepMinutes = 15) {
  let now = new Date(from);
  const queued: number[] = [];
  const service = new DigestService(db.pool, { queueDigestFanout: async (id) => void queued.push(id) }, schedule, () => now);
  await db.pool.query('TRUNCATE digest_runs CASCADE');
  for (; now.getTime() <= new Date(to).getTime(); now = new Date(now.getTime() + stepMinutes * 60_000)) {
    // a scheduler firing and the reconciler's catch-up both run at every tick: neither may double a run
    await service.runDue(frequency);
    await service.runDue(frequency, { catchUp: true });
  }
  const { rows } = await db.pool.query<{ slot: string; scheduled_for: Date }>('SELECT slot, scheduled_for FROM digest_runs ORDER BY slot');
  assert.equal(queued.length, rows.length, 'each created run queued its fan-out once');
  return rows;
}

describe('digest schedule', () => {
  it('turns DIGEST_TIME and DIGEST_WEEKDAY into BullMQ cron patterns with the time zone', () => {
    assert.deepEqual(digestCron('daily', warsaw('08:00')), { pattern: '0 8 * * *', tz: 'Europe/Warsaw' });
    assert.deepEqual(digestCron('weekly', warsaw('08:30', 'sunday')), { pattern: '30 8 * * 0', tz: 'Europe/Warsaw' });
    assert.deepEqual(digestCron('weekly', warsaw('07:05', 'saturday')), { pattern: '5 7 * * 6', tz: 'Europe/Warsaw' });
  });

  it('finds the due slot in local time, the day before when today\'s time has not come yet', () => {
    assert.deepEqual(dueSlot('daily', warsaw('08:00'), new Date('2026-12-02T07:00:00Z')), { frequency: 'daily', slot: '2026-12-02', scheduledFor: new Date('2026-12-02T07:00:00Z') });
    assert.equal(dueSlot('daily', warsaw('08:00'), new Date('2026-12-02T06:59:59Z')).slot, '2026-12-01');
    // summer time: 08:00 in Warsaw is 06:00 UTC
    assert.deepEqual(dueSlot('daily', warsaw('08:00'), new Date('2026-07-01T06:00:00Z')).scheduledFor, new Date('2026-07-01T06:00:00Z'));
    // Wednesday 2 December 2026: the last Monday 08:00 was 30 November
    assert.equal(dueSlot('weekly', warsaw('08:00'), new Date('2026-12-02T12:00:00Z')).slot, '2026-11-30');
    assert.equal(dueSlot('weekly', warsaw('08:00'), new Date('2026-11-30T06:59:00Z')).slot, '2026-11-23');
  });

  it('moves a time skipped by the spring change to the first valid instant after it', () => {
    const slot = dueSlot('daily', warsaw('02:30'), new Date('2026-03-29T12:00:00Z'));
    assert.equal(slot.slot, '2026-03-29');
    assert.equal(slot.scheduledFor.toISOString(), '2026-03-29T01:30:00.000Z'); // 03:30 CEST
  });

  for (const time of ['08:00', '02:30']) {
    it(`creates exactly one daily run per day across both DST changes at ${time}`, async () => {
      const spring = await tickThrough(warsaw(time), 'daily', '2026-03-27T12:00:00Z', '2026-03-31T12:00:00Z');
      assert.deepEqual(spring.map((r) => r.slot), ['2026-03-27', '2026-03-28', '2026-03-29', '2026-03-30', '2026-03-31']);
      const autumn = await tickThrough(warsaw(time), 'daily', '2026-10-23T12:00:00Z', '2026-10-27T12:00:00Z');
      assert.deepEqual(autumn.map((r) => r.slot), ['2026-10-23', '2026-10-24', '2026-10-25', '2026-10-26', '2026-10-27']);
      // each run is due at the local time of its own day (08:00 is 06:00 UTC in summer, 07:00 in winter)
      if (time === '08:00') assert.deepEqual(autumn.slice(1, 4).map((r) => r.scheduled_for.toISOString()), ['2026-10-24T06:00:00.000Z', '2026-10-25T07:00:00.000Z', '2026-10-26T07:00:00.000Z']);
    });
  }

  it('creates exactly one weekly run per week over the autumn change', async () => {
    const runs = await tickThrough(warsaw('08:00', 'sunday'), 'weekly', '2026-10-17T12:00:00Z', '2026-11-02T12:00:00Z', 60);
    assert.deepEqual(runs.map((r) => r.slot), ['2026-10-11', '2026-10-18', '2026-10-25', '2026-11-01']);
  });

  it('makes up for a missed firing only once the schedule has fired before', async () => {
    let now = new Date('2026-12-02T12:00:00Z');
    const service = new DigestService(db.pool, { queueDigestFanout: async () => undefined }, warsaw('08:00'), () => now);
    await db.pool.query('TRUNCATE digest_runs CASCADE');
    assert.equal(await service.runDue('daily', { catchUp: true }), null, 'a fresh installation waits for its first scheduled time');
    assert.equal((await service.runDue('daily'))!.created, true);
    now = new Date('2026-12-04T12:00:00Z'); // the firings of 3 and 4 December were missed
    const caught = await service.runDue('daily', { catchUp: true });
    assert.equal(caught!.run.slot, '2026-12-04');
    assert.equal(await service.runDue('daily', { catchUp: true }), null);
  });
});
