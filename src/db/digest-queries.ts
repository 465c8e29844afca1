import { loadNamedQueries } from './named-queries.ts';
import type { Db } from './pool.ts';

const sql = loadNamedQueries('digests', [
  'lock-digest-frequency',
  'get-digest-run-by-slot',
  'insert-digest-run',
  'assign-digest-articles',
  'get-digest-run',
  'list-digest-runs',
  'count-digest-deliveries',
  'list-digest-run-articles',
  'start-digest-fanout',
  'write-digest-fanout-page',
  'finish-digest-fanout',
  'finish-digest-run',
  'claim-digest-deliveries',
  'mark-digest-sent',
  'mark-digest-finished',
  'note-digest-deferred',
  'list-unfinished-digest-fanouts',
  'list-digest-runs-with-pending',
  'list-digest-orphan-ranges',
  'last-digest-success',
  'set-frequency',
  'set-frequencies',
  'last-scheduled-digest-run',
]);

/** How often a subscriber hears from us. */
export type Frequency = 'immediate' | 'daily' | 'weekly';
/** The frequencies that get digests. */
export type DigestFrequency = 'daily' | 'weekly';

/** A digest_runs row. */
export interface DigestRunRow {
  id: number;
  frequency: DigestFrequency;
  slot: string | null;
  scheduled_for: Date | null;
  trigger: 'schedule' | 'manual';
  period_start: Date | null;
  period_end: Date;
  articles: number;
  fanout_status: 'pending' | 'running' | 'done';
  fanout_cursor: number;
  created_at: Date;
  fanout_done_at: Date | null;
  finished_at: Date | null;
}

/** An article as a digest lists it. */
export interface DigestArticle {
  id: number;
  url: string;
  title: string;
  summary: string | null;
  /** language of the article's text (its title and summary get lang= in e-mails of the other language) */
  lang: string;
  topics: string[];
  published_at: Date;
  created_at: Date;
}

/** A claimed digest delivery with its subscriber, re-checked at claim time. */
export interface ClaimedDigest {
  id: number;
  subscriber_id: number | null;
  email: string | null;
  lang: string | null;
  /** version of the subscriber's link tokens (revoke-links) */
  token_version: number | null;
  /** articles recorded after this instant are the subscriber's */
  since: Date | null;
  topics: string[];
  deliverable: boolean;
}

/** Counts of a run's ledger. */
export interface DigestCounts {
  recipients: number;
  sent: number;
  failed: number;
  pending: number;
  suppressed: number;
}

/** What one fan-out page did; from/to are the delivery ids it wrote (null when none). */
export interface DigestFanoutPage {
  scanned: number;
  written: number;
  cursor: number;
  from_id: number | null;
  to_id: number | null;
}

/** A new run's identity: its frequency, schedule slot and trigger. */
export interface NewDigestRun {
  frequency: DigestFrequency;
  slot: string | null;
  scheduledFor: Date | null;
  trigger: 'schedule' | 'manual';
}

/** Takes the frequency's run-creation lock until the transaction ends. */
export async function lockDigestFrequency(db: Db, frequency: DigestFrequency): Promise<void> {
  await db.query(sql['lock-digest-frequency'], [frequency]);
}

/** The run of a schedule slot, or null. */
export async function getDigestRunBySlot(db: Db, frequency: DigestFrequency, slot: string): Promise<DigestRunRow | null> {
  return (await db.query<DigestRunRow>(sql['get-digest-run-by-slot'], [frequency, slot])).rows[0] ?? null;
}

/** Inserts a run; null when its slot has one already. */
export async function insertDigestRun(db: Db, run: NewDigestRun): Promise<DigestRunRow | null> {
  return (await db.query<DigestRunRow>(sql['insert-digest-run'], [run.frequency, run.slot, run.scheduledFor, run.trigger])).rows[0] ?? null;
}

/** Assigns the unassigned articles of the last `days` days to a run; returns how many. */
export async function assignDigestArticles(db: Db, runId: number, frequency: DigestFrequency, days: number): Promise<number> {
  return (await db.query<{ articles: number }>(sql['assign-digest-articles'], [runId, frequency, days])).rows[0]?.articles ?? 0;
}

/** One run, or null. */
export async function getDigestRun(db: Db, id: number): Promise<DigestRunRow | null> {
  return (await db.query<DigestRunRow>(sql['get-digest-run'], [id])).rows[0] ?? null;
}

/** Recent runs, newest first. */
export async function listDigestRuns(db: Db, limit: number): Promise<DigestRunRow[]> {
  return (await db.query<DigestRunRow>(sql['list-digest-runs'], [limit])).rows;
}

/** A run's ledger counted by status. */
export async function countDigestDeliveries(db: Db, runId: number): Promise<DigestCounts> {
  return (await db.query<DigestCounts>(sql['count-digest-deliveries'], [runId])).rows[0]!;
}

/** A run's articles, newest first. */
export async function listDigestRunArticles(db: Db, runId: number): Promise<DigestArticle[]> {
  return (await db.query<DigestArticle>(sql['list-digest-run-articles'], [runId])).rows;
}

/** Marks a run's fan-out running; null when it is done or unknown. */
export async function startDigestFanout(db: Db, runId: number): Promise<{ id: number; frequency: DigestFrequency; fanout_cursor: number } | null> {
  return (await db.query<{ id: number; frequency: DigestFrequency; fanout_cursor: number }>(sql['start-digest-fanout'], [runId])).rows[0] ?? null;
}

/** Writes one keyset page of digest deliveries and moves the cursor, atomically. */
export async function writeDigestFanoutPage(db: Db, runId: number, cursor: number, frequency: DigestFrequency, pageSize: number): Promise<DigestFanoutPage> {
  return (await db.query<DigestFanoutPage>(sql['write-digest-fanout-page'], [runId, cursor, frequency, pageSize])).rows[0]!;
}

/** Marks a run's fan-out done. */
export async function finishDigestFanout(db: Db, runId: number): Promise<void> {
  await db.query(sql['finish-digest-fanout'], [runId]);
}

/** Stamps a run finished when nothing of it is pending; returns it then, else null. */
export async function finishDigestRun(db: Db, runId: number): Promise<{ id: number; frequency: DigestFrequency; created_at: Date; finished_at: Date } | null> {
  return (await db.query<{ id: number; frequency: DigestFrequency; created_at: Date; finished_at: Date }>(sql['finish-digest-run'], [runId])).rows[0] ?? null;
}

/** Claims a send job's pending digest deliveries and re-checks their subscribers. */
export async function claimDigestDeliveries(db: Db, runId: number, fromId: number, toId: number, claimer: string, leaseSeconds: number): Promise<ClaimedDigest[]> {
  return (await db.query<ClaimedDigest>(sql['claim-digest-deliveries'], [runId, fromId, toId, claimer, leaseSeconds])).rows;
}

/** Records accepted digests. */
export async function markDigestSent(db: Db, ids: number[]): Promise<void> {
  if (ids.length > 0) await db.query(sql['mark-digest-sent'], [ids]);
}

/** Records failed and suppressed digest deliveries. */
export async function markDigestFinished(db: Db, rows: { id: number; status: 'failed' | 'suppressed'; reason: string }[]): Promise<void> {
  if (rows.length === 0) return;
  await db.query(sql['mark-digest-finished'], [rows.map((r) => r.id), rows.map((r) => r.status), rows.map((r) => r.reason.slice(0, 500))]);
}

/** Records why digest deliveries stay pending. */
export async function noteDigestDeferred(db: Db, rows: { id: number; reason: string }[]): Promise<void> {
  if (rows.length === 0) return;
  await db.query(sql['note-digest-deferred'], [rows.map((r) => r.id), rows.map((r) => r.reason.slice(0, 500))]);
}

/** Runs whose fan-out has not finished. */
export async function listUnfinishedDigestFanouts(db: Db, limit = 100): Promise<number[]> {
  return (await db.query<{ id: number }>(sql['list-unfinished-digest-fanouts'], [limit])).rows.map((r) => r.id);
}

/** Runs with pending deliveries or not yet stamped finished. */
export async function listDigestRunsWithPending(db: Db): Promise<number[]> {
  return (await db.query<{ run_id: number }>(sql['list-digest-runs-with-pending'])).rows.map((r) => r.run_id);
}

/** Pending, unclaimed digest deliveries of a run outside the given live ranges, in chunks. */
export async function listDigestOrphanRanges(
  db: Db,
  runId: number,
  live: { fromId: number; toId: number }[],
  options: { leaseSeconds: number; chunk: number; minAgeSeconds: number },
): Promise<{ from_id: number; to_id: number; deliveries: number }[]> {
  const multirange = `{${live.map((r) => `[${r.fromId},${r.toId}]`).join(',')}}`;
  const params = [runId, options.leaseSeconds, options.chunk, multirange, options.minAgeSeconds];
  return (await db.query<{ from_id: number; to_id: number; deliveries: number }>(sql['list-digest-orphan-ranges'], params)).rows;
}

/** When the last run of each frequency finished. */
export async function lastDigestSuccess(db: Db): Promise<{ frequency: DigestFrequency; finished_at: Date }[]> {
  return (await db.query<{ frequency: DigestFrequency; finished_at: Date }>(sql['last-digest-success'])).rows;
}

/** Changes one subscriber's frequency. */
export async function setFrequency(db: Db, subscriberId: number, frequency: Frequency): Promise<void> {
  await db.query(sql['set-frequency'], [subscriberId, frequency]);
}

/** Changes the frequency of many subscribers whose status is one of `statuses`. */
export async function setFrequencies(db: Db, ids: number[], frequencies: Frequency[], statuses: string[]): Promise<void> {
  if (ids.length > 0) await db.query(sql['set-frequencies'], [ids, frequencies, statuses]);
}

/** The newest scheduled run of a frequency, or null when the schedule never fired. */
export async function lastScheduledDigestRun(db: Db, frequency: DigestFrequency): Promise<DigestRunRow | null> {
  return (await db.query<DigestRunRow>(sql['last-scheduled-digest-run'], [frequency])).rows[0] ?? null;
}
