import type { KindOutcomeCount, SubscriberChangesRow } from '../db/console-queries.ts';

/** The office's time zone: the console's "today" starts at midnight here. */
export const CONSOLE_TIME_ZONE = 'Europe/Warsaw';

/** Kinds of e-mail the console counts, in the order it shows them (mail_outcomes_hourly.kind). */
export const MAIL_KINDS = ['confirmation', 'already-subscribed', 'welcome', 'manage-link', 'notification', 'digest'] as const;
/** Outcomes of an e-mail the console counts: 'deferred' = will be tried again. */
export const MAIL_OUTCOMES = ['sent', 'failed', 'deferred', 'suppressed'] as const;
/** Kinds of inbound mail (inbound_messages.kind). */
export const INBOUND_KINDS = ['bounce', 'complaint', 'unsubscribe', 'auto_reply', 'unknown'] as const;
/** Inbound outcomes that need a person: never recognised, matched to nobody, or processing threw. */
export const INBOUND_ATTENTION = { unrecognised: ['unknown', 'unmatched'], failed: ['error'] } as const;

/** One row of a kind × outcome table. */
export interface KindRow {
  kind: string;
  counts: Record<string, number>;
  total: number;
}

/** The start of the day holding `now` in a time zone: local midnight, as an instant. */
export function startOfDay(now: Date, timeZone: string): Date {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).formatToParts(now);
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const elapsed = ((part('hour') * 60 + part('minute')) * 60 + part('second')) * 1000 + now.getUTCMilliseconds();
  return new Date(now.getTime() - elapsed);
}

/** Counts as one row per kind (known kinds always, in order; others after) with every outcome present. */
export function tabulateByKind(rows: KindOutcomeCount[], kinds: readonly string[], outcomes: readonly string[]): KindRow[] {
  const seen = [...new Set([...kinds, ...rows.map((r) => r.kind)])];
  const allOutcomes = [...new Set([...outcomes, ...rows.map((r) => r.outcome)])];
  return seen.map((kind) => {
    const counts = Object.fromEntries(allOutcomes.map((o) => [o, 0]));
    for (const r of rows) if (r.kind === kind) counts[r.outcome] = (counts[r.outcome] ?? 0) + r.count;
    return { kind, counts, total: Object.values(counts).reduce((a, b) => a + b, 0) };
  });
}

/** Sums the counts of the given outcomes over every kind. */
export function sumOutcomes(rows: KindOutcomeCount[], outcomes: readonly string[]): number {
  return rows.filter((r) => outcomes.includes(r.outcome)).reduce((sum, r) => sum + r.count, 0);
}

/** Subscribers' changes as rows: what happened, today and in 7 days. */
export function subscriberChangeRows(c: SubscriberChangesRow): { change: string; today: number; week: number }[] {
  return (['new', 'confirmed', 'unsubscribed', 'erased'] as const).map((change) => ({ change, today: c[`${change}_today`], week: c[`${change}_week`] }));
}
