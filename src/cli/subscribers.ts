import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { importSubscribers, parseImportCsv } from '../core/subscriber-import.ts';
import { exportSubscribersPage, type ExportedSubscriber } from '../db/operations-queries.ts';
import type { Deps } from '../deps.ts';
import { presentSubscriber } from '../http/presenters.ts';
import { EXIT, note, print, UsageError } from './context.ts';
import { csvField, table } from './format.ts';

const EXPORT_PAGE = 1000;

/** `subscribers import <file>`: CSV (email,topics,lang,consentSource) or a JSON array, as the admin API. */
export async function runImport(deps: Deps, file: string): Promise<number> {
  const ext = extname(file).toLowerCase();
  if (ext !== '.csv' && ext !== '.json') throw new UsageError(`Cannot import ${file}: give a .csv or .json file.`);
  const text = await readFile(file, 'utf8');
  const rows: unknown = ext === '.csv' ? parseImportCsv(text) : JSON.parse(text);
  if (!Array.isArray(rows)) throw new Error(`${file} must hold a JSON array of subscribers.`);
  const result = await importSubscribers(deps.pool, rows);
  print(`created ${result.created}, updated ${result.updated}, skipped ${result.skipped}, invalid ${result.invalid.length}`);
  for (const bad of result.invalid) note(`row ${bad.row}: ${bad.reason}`);
  return result.invalid.length > 0 ? EXIT.error : EXIT.ok;
}

function exportRow(s: ExportedSubscriber) {
  return { ...presentSubscriber(s), consentSource: s.consent_source };
}

/** `subscribers export`: every subscriber, page by page, as CSV (importable again) or JSON lines in an array. */
export async function runExport(deps: Deps, format: string): Promise<void> {
  if (format !== 'csv' && format !== 'json') throw new UsageError(`Unknown format "${format}": use csv or json.`);
  if (format === 'csv') print('email,topics,lang,consentSource,status,createdAt');
  else process.stdout.write('[');
  let after = 0;
  let first = true;
  for (;;) {
    const page = await exportSubscribersPage(deps.pool, after, EXPORT_PAGE);
    for (const s of page) {
      if (format === 'csv') {
        print([s.email, s.topics.join(';'), s.lang, s.consent_source ?? '', s.status, s.created_at.toISOString()].map(csvField).join(','));
      } else {
        process.stdout.write(`${first ? '\n' : ',\n'}${JSON.stringify(exportRow(s))}`);
      }
      first = false;
    }
    if (page.length < EXPORT_PAGE) break;
    after = page[page.length - 1]!.id;
  }
  if (format === 'json') print(first ? ']' : '\n]');
}

/** `subscribers find <text>`: an exact address, or a part of one. */
export async function runFind(deps: Deps, text: string, options: { json?: boolean }): Promise<void> {
  const found = (await deps.subscriptions.find(text)).map(presentSubscriber);
  if (options.json) return print(JSON.stringify(found, null, 2));
  if (found.length === 0) return note('No subscriber matches.');
  print(table(['id', 'email', 'status', 'lang', 'topics'], found.map((s) => [s.id, s.email, s.status, s.lang, s.topics.join(',')])));
}

/** `subscribers revoke-links <id>`: voids the links already sent (a new token version). */
export async function runRevokeLinks(deps: Deps, id: number): Promise<number> {
  if (!(await deps.subscriptions.revokeLinks(id))) {
    note(`Subscriber ${id} not found.`);
    return EXIT.error;
  }
  print(`Links of subscriber ${id} revoked: earlier preferences and unsubscribe links no longer work.`);
  return EXIT.ok;
}

/** `subscribers erase <id>`: GDPR erasure (only the hash stays, in the suppression list). */
export async function runErase(deps: Deps, id: number): Promise<number> {
  if (!(await deps.subscriptions.eraseById(id))) {
    note(`Subscriber ${id} not found.`);
    return EXIT.error;
  }
  print(`Subscriber ${id} erased.`);
  return EXIT.ok;
}
