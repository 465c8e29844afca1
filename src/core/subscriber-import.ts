import type pg from 'pg';
import { parse as parseCsv } from 'csv-parse/sync';
import { withTransaction } from '../db/pool.ts';
import * as subscribers from '../db/subscriber-queries.ts';
import { filterSuppressedHashes } from '../db/suppression-queries.ts';
import { listTopics } from '../db/topic-queries.ts';
import { ValidationError } from './errors.ts';
import { safeConsentSource } from './consent-source.ts';
import { emailProblem, hashEmail, normalizeEmail } from './email-address.ts';
import { CONSENT_TEXT_VERSION } from './subscriptions.ts';
import { setFrequencies, type Frequency } from '../db/digest-queries.ts';

const FREQUENCIES: readonly Frequency[] = ['immediate', 'daily', 'weekly'];

/** Result of an import, as the API answers it. */
export interface ImportResult {
  created: number;
  updated: number;
  skipped: number;
  /** why each skipped row was left alone (1-based row numbers, as in `invalid`) */
  skippedRows: { row: number; reason: string }[];
  invalid: { row: number; reason: string }[];
}

/** Reasons an import leaves a row alone. */
export const SKIP_REASONS = {
  duplicate: 'address repeated in this import',
  suppressed: 'address is suppressed (bounce, complaint, erasure or operator)',
  withdrew: 'the person withdrew consent (unsubscribed); only they can subscribe again',
} as const;

interface ImportRow {
  row: number;
  email: string;
  lang: 'pl' | 'en';
  topics: string[];
  source: string;
  /** set only when the row names one: an import never resets a known subscriber's choice */
  frequency?: Frequency;
}

const BATCH_SIZE = 2000;

/** Parses a CSV body with a header row (email, topics, lang, consentSource); topics split on ; | or spaces. */
export function parseImportCsv(text: string): Record<string, unknown>[] {
  try {
    return parseCsv(text, { columns: true, skip_empty_lines: true, trim: true, bom: true, relax_column_count: true }) as Record<
      string,
      unknown
    >[];
  } catch (err) {
    throw new ValidationError(`The CSV could not be parsed: ${(err as Error).message}`);
  }
}

function toTopicList(value: unknown): string[] | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (Array.isArray(value)) return value.map(String);
  return String(value)
    .split(/[;|,\s]+/)
    .filter(Boolean);
}

function validateRow(raw: unknown, row: number, known: Set<string>): ImportRow | string {
  if (typeof raw !== 'object' || raw === null) return 'row is not an object';
  const record = raw as Record<string, unknown>;
  const email = typeof record.email === 'string' ? record.email : '';
  const problem = emailProblem(email);
  if (problem) return `email ${problem}`;
  const lang = record.lang === undefined || record.lang === '' ? 'pl' : record.lang;
  if (lang !== 'pl' && lang !== 'en') return 'lang must be pl or en';
  const topics = toTopicList(record.topics) ?? [...known];
  const unknown = topics.filter((t) => !known.has(t));
  if (unknown.length > 0) return `unknown topic: ${unknown.join(', ')}`;
  if (topics.length === 0) return 'no topics';
  const source = safeConsentSource(record.consentSource, 'import');
  const frequency = record.frequency === undefined || record.frequency === '' ? undefined : record.frequency;
  if (frequency !== undefined && !FREQUENCIES.includes(frequency as Frequency)) return 'frequency must be immediate, daily or weekly';
  return { row, email: normalizeEmail(email), lang, topics: [...new Set(topics)], source, ...(frequency ? { frequency: frequency as Frequency } : {}) };
}

async function writeBatch(pool: pg.Pool, batch: ImportRow[], result: ImportResult): Promise<void> {
  await withTransaction(pool, async (tx) => {
    const blocked = await filterSuppressedHashes(tx, batch.map((r) => hashEmail(r.email)));
    const rows = batch.filter((r) => !blocked.has(hashEmail(r.email)));
    for (const r of batch) if (blocked.has(hashEmail(r.email))) skip(result, r.row, 'suppressed');
    const written = await subscribers.upsertImportedSubscribers(
      tx,
      rows.map((r) => r.email),
      rows.map((r) => r.lang),
    );
    const byEmail = new Map(rows.map((r) => [r.email, r]));
    const pairIds: number[] = [];
    const pairSlugs: string[] = [];
    for (const w of written) {
      for (const slug of byEmail.get(w.email)!.topics) {
        pairIds.push(w.id);
        pairSlugs.push(slug);
      }
    }
    await subscribers.replaceTopicsBatch(tx, pairIds, pairSlugs, written.map((w) => w.id));
    const chosen = written.filter((w) => byEmail.get(w.email)!.frequency);
    await setFrequencies(tx, chosen.map((w) => w.id), chosen.map((w) => byEmail.get(w.email)!.frequency!), ['active']);
    const created = written.filter((w) => w.inserted);
    await subscribers.insertImportConsents(tx, created.map((w) => w.id), created.map((w) => byEmail.get(w.email)!.source), CONSENT_TEXT_VERSION);
    result.created += created.length;
    result.updated += written.length - created.length;
    const writtenEmails = new Set(written.map((w) => w.email));
    for (const r of rows) if (!writtenEmails.has(r.email)) skip(result, r.row, 'withdrew');
  });
}

function skip(result: ImportResult, row: number, reason: keyof typeof SKIP_REASONS): void {
  result.skipped += 1;
  result.skippedRows.push({ row, reason: SKIP_REASONS[reason] });
}

/**
 * Imports subscribers as active (their consent was collected elsewhere, named by consentSource).
 * Idempotent on the address; never activates or changes anyone who ever withdrew consent or is
 * suppressed (such rows are skipped, each with its reason).
 */
export async function importSubscribers(pool: pg.Pool, input: unknown[]): Promise<ImportResult> {
  const known = new Set((await listTopics(pool)).map((t) => t.slug));
  const result: ImportResult = { created: 0, updated: 0, skipped: 0, skippedRows: [], invalid: [] };
  const seen = new Set<string>();
  let batch: ImportRow[] = [];
  for (const [index, raw] of input.entries()) {
    const row = validateRow(raw, index + 1, known);
    if (typeof row === 'string') {
      result.invalid.push({ row: index + 1, reason: row });
    } else if (seen.has(row.email)) {
      skip(result, row.row, 'duplicate');
    } else {
      seen.add(row.email);
      batch.push(row);
    }
    if (batch.length >= BATCH_SIZE) {
      await writeBatch(pool, batch, result);
      batch = [];
    }
  }
  if (batch.length > 0) await writeBatch(pool, batch, result);
  return result;
}
