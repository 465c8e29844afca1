import { DateTime } from 'luxon';
import type { DigestFrequency } from '../db/digest-queries.ts';

/** Days of the week as DIGEST_WEEKDAY names them, Monday first (ISO 1–7). */
export const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
/** A DIGEST_WEEKDAY value. */
export type Weekday = (typeof WEEKDAYS)[number];

/** When digests go out: DIGEST_TIME (HH:MM), DIGEST_WEEKDAY and DIGEST_TIMEZONE (IANA). */
export interface DigestSchedule {
  time: string;
  weekday: Weekday;
  timeZone: string;
}

/** One scheduled occasion of a frequency: the local date it belongs to and the instant it is due. */
export interface DigestSlot {
  frequency: DigestFrequency;
  /** local date (YYYY-MM-DD) in the schedule's time zone: the run's identity */
  slot: string;
  scheduledFor: Date;
}

function hourMinute(time: string): { hour: number; minute: number } {
  const [hour, minute] = time.split(':').map(Number);
  return { hour: hour!, minute: minute! };
}

/** The BullMQ job scheduler's repeat options of a frequency: a cron pattern with the time zone. */
export function digestCron(frequency: DigestFrequency, schedule: DigestSchedule): { pattern: string; tz: string } {
  const { hour, minute } = hourMinute(schedule.time);
  const day = frequency === 'weekly' ? String((WEEKDAYS.indexOf(schedule.weekday) + 1) % 7) : '*';
  return { pattern: `${minute} ${hour} * * ${day}`, tz: schedule.timeZone };
}

/**
 * The latest slot of a frequency due at or before `now`. A slot is a local date, so a scheduler that fires
 * twice in one night (the autumn DST change repeats an hour) finds the same slot, and a time that does not
 * exist on the spring change day is due at the first valid instant after it (luxon moves it forward):
 * daylight-saving changes neither skip nor double a digest.
 */
export function dueSlot(frequency: DigestFrequency, schedule: DigestSchedule, now: Date): DigestSlot {
  const { hour, minute } = hourMinute(schedule.time);
  const today = DateTime.fromJSDate(now, { zone: schedule.timeZone }).startOf('day');
  const weekday = WEEKDAYS.indexOf(schedule.weekday) + 1;
  for (let back = 0; back <= 8; back++) {
    const day = today.minus({ days: back });
    if (frequency === 'weekly' && day.weekday !== weekday) continue;
    const at = DateTime.fromObject({ year: day.year, month: day.month, day: day.day, hour, minute }, { zone: schedule.timeZone });
    if (at.toMillis() <= now.getTime()) return { frequency, slot: day.toISODate()!, scheduledFor: at.toJSDate() };
  }
  throw new Error(`no ${frequency} slot found before ${now.toISOString()}`);
}
