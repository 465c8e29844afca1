import type { OperationsStats } from '../core/stats.ts';

/** GET /api/stats as JSON. */
export function presentStats(s: OperationsStats) {
  return {
    generatedAt: s.generatedAt,
    subscribers: s.subscribers,
    deliveries: s.deliveries,
    queues: s.queues,
    oldestWaitingSeconds: s.oldestWaitingSeconds,
    inbound: {
      last24h: s.inbound.last24h,
      mailboxes: s.inbound.mailboxes.map((m) => ({ mailbox: m.mailbox, lastPollAt: m.last_poll_at, lastOkAt: m.last_ok_at, error: m.last_error })),
    },
    feeds: s.feeds.map((f) => ({ url: f.url, topic: f.topic, lastPollAt: f.last_poll_at, lastOkAt: f.last_ok_at, error: f.last_error })),
    articles: s.articles.map((a) => ({
      id: a.id,
      title: a.title,
      url: a.url,
      topics: a.topics,
      publishedAt: a.published_at,
      createdAt: a.created_at,
      notify: a.notify,
      fanoutStatus: a.fanout_status,
      fanoutDoneAt: a.fanout_done_at,
      deliveries: { total: a.total, pending: a.pending, sent: a.sent, failed: a.failed, suppressed: a.suppressed },
      progress: a.total === 0 ? null : (a.sent + a.failed + a.suppressed) / a.total,
    })),
  };
}
