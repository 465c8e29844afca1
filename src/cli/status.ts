import { collectStats, type OperationsStats } from '../core/stats.ts';
import type { Deps } from '../deps.ts';
import { presentStats } from '../http/presenters-ops.ts';
import { bullQueueInspector } from '../jobs/queue-stats.ts';
import { print } from './context.ts';
import { age, table } from './format.ts';

function printQueues(stats: OperationsStats): void {
  print('Queues');
  const rows = stats.queues.map((q) => [
    q.name,
    q.paused ? 'paused' : 'running',
    q.counts.waiting,
    q.counts.active,
    q.counts.delayed,
    q.counts.failed,
    q.oldestWaitingSeconds > 0 ? age(q.oldestWaitingSeconds) : '-',
    q.workers,
  ]);
  print(table(['queue', 'state', 'waiting', 'active', 'delayed', 'failed', 'oldest', 'workers'], rows));
}

function printSubscribers(stats: OperationsStats): void {
  print('\nSubscribers');
  print(table(['status', 'count'], Object.entries(stats.subscribers.byStatus)));
  print(table(['topic', 'active', 'all'], stats.subscribers.byTopic.map((t) => [t.slug, t.active, t.total])));
}

function printArticles(stats: OperationsStats): void {
  print('\nLast articles');
  if (stats.articles.length === 0) return print('(none)');
  const rows = stats.articles.map((a) => [a.id, a.created_at.toISOString().slice(0, 16).replace('T', ' '), a.fanout_status, a.sent, a.failed, a.suppressed, a.pending, a.title.slice(0, 60)]);
  print(table(['id', 'created (UTC)', 'fan-out', 'sent', 'failed', 'suppr.', 'pending', 'title'], rows));
}

/** `status`: queues, subscribers and the last articles; --json prints GET /api/stats's document. */
export async function runStatus(deps: Deps, options: { json?: boolean }): Promise<void> {
  const stats = await collectStats(deps.pool, bullQueueInspector(deps.queues));
  if (options.json) return print(JSON.stringify(presentStats(stats), null, 2));
  printQueues(stats);
  printSubscribers(stats);
  printArticles(stats);
}
