import type { DigestRunView } from '../core/digests.ts';
import type { Deps } from '../deps.ts';
import { EXIT, print } from './context.ts';

const iso = (d: Date | null) => (d ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : '—');

/** One line per run: id, frequency, trigger, period, articles and the ledger's counts. */
function formatRun(view: DigestRunView): string {
  const { run, delivery: d } = view;
  const state = run.finished_at ? `finished ${iso(run.finished_at)}` : `fan-out ${run.fanout_status}`;
  return `#${run.id} ${run.frequency} ${run.trigger}${run.slot ? ` ${run.slot}` : ''}  ${iso(run.period_start)} → ${iso(run.period_end)}  ${run.articles} articles  ` +
    `recipients ${d.recipients}, sent ${d.sent}, failed ${d.failed}, pending ${d.pending}, suppressed ${d.suppressed}  (${state})`;
}

/** `digest run daily|weekly`: a run now for everything since the previous run's period end. */
export async function runDigestNow(deps: Deps, frequency: 'daily' | 'weekly'): Promise<number> {
  const run = await deps.digests.runNow(frequency);
  print(`Digest run #${run.id} (${frequency}) created: ${run.articles} new articles since ${iso(run.period_start)}; the workers send it.`);
  return EXIT.ok;
}

/** `digest status`: the recent runs with their delivery counts. */
export async function runDigestStatus(deps: Deps, options: { json?: boolean; limit?: string }): Promise<number> {
  const runs = await deps.digests.list(Math.min(200, Math.max(1, Number(options.limit ?? 10) || 10)));
  if (options.json) print(JSON.stringify(runs.map((v) => ({ ...v.run, delivery: v.delivery })), null, 2));
  else if (runs.length === 0) print('No digest runs yet.');
  else for (const view of runs) print(formatRun(view));
  return EXIT.ok;
}
