import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { importSubscribers } from '../src/core/subscriber-import.ts';
import { CANARY_SCHEDULER } from '../src/jobs/schedules.ts';
import { scheduleCanary, sendCanary } from '../workers/canary.ts';
import { ADMIN_TOKEN, eventually, startHarness, type Harness } from './helpers/harness.ts';
import { metricSample } from './helpers/metrics.ts';

const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };
let h: Harness;
let articleId: number;

before(async () => {
  h = await startHarness({ label: 'opsdelivery' });
  await importSubscribers(h.deps.pool, ['ok0', 'ok1', 'blocked', 'gone'].map((name) => ({ email: `${name}@example.pl`, topics: 'komunikaty' })));
  h.smtp.onRecipient = (address) =>
    address === 'blocked@example.pl'
      ? { ok: false, code: 550, message: '5.7.1 Message rejected by policy' }
      : address === 'gone@example.pl'
        ? { ok: false, code: 550, message: '5.1.1 User unknown' }
        : { ok: true };
  const res = await h.http.post('/api/articles').set(admin).send({ url: 'https://www.duw.pl/pl/komunikaty/1,Komunikat.html', title: 'Komunikat wojewody', topics: ['komunikaty'] });
  assert.equal(res.status, 202);
  articleId = res.body.id;
  await eventually(async () => (await deliveryStatuses()).join() === 'failed,failed,sent,sent', 20_000, 'notification round');
});
after(async () => {
  await h.close();
});

async function deliveryStatuses(): Promise<string[]> {
  const { rows } = await h.db.pool.query<{ status: string }>('SELECT status FROM deliveries WHERE article_id = $1 ORDER BY status', [articleId]);
  return rows.map((r) => r.status);
}

describe('metrics after a notification round', () => {
  it('show the sent and failed counters, the ledger, queue counts and duration histograms', async () => {
    // The ledger is final before BullMQ marks the last send job completed: wait for the queue to drain.
    const drained = (text: string) => ['waiting', 'active', 'delayed', 'failed', 'paused'].every((state) => metricSample(text, 'powiadom_queue_jobs', { queue: 'send', state }) === 0);
    let text = '';
    await eventually(async () => drained((text = (await h.http.get('/metrics').set(admin)).text)), 20_000, 'send queue drained');
    assert.equal(metricSample(text, 'powiadom_emails_total', { kind: 'notification', outcome: 'sent' }), 2);
    assert.equal(metricSample(text, 'powiadom_emails_total', { kind: 'notification', outcome: 'failed' }), 2);
    assert.equal(metricSample(text, 'powiadom_deliveries', { status: 'sent' }), 2);
    assert.equal(metricSample(text, 'powiadom_deliveries', { status: 'failed' }), 2);
    assert.equal(metricSample(text, 'powiadom_subscribers', { status: 'active' }), 4);
    for (const state of ['waiting', 'active', 'delayed', 'failed', 'paused']) assert.equal(metricSample(text, 'powiadom_queue_jobs', { queue: 'send', state }), 0, state);
    assert.ok((metricSample(text, 'powiadom_queue_workers', { queue: 'send' }) ?? 0) >= 1, 'a send worker is connected');
    assert.ok((metricSample(text, 'powiadom_job_duration_seconds_count', { queue: 'send', outcome: 'completed' }) ?? 0) >= 1);
    assert.ok((metricSample(text, 'powiadom_job_duration_seconds_count', { queue: 'fanout', outcome: 'completed' }) ?? 0) >= 1);
    assert.ok((metricSample(text, 'powiadom_job_duration_seconds_bucket', { queue: 'send', outcome: 'completed', le: '+Inf' }) ?? 0) >= 1);
    assert.equal(metricSample(text, 'powiadom_smtp_send_duration_seconds_count'), 4);
    assert.equal(metricSample(text, 'powiadom_smtp_failures_total', { failure: 'permanent' }), 1);
    assert.equal(metricSample(text, 'powiadom_smtp_failures_total', { failure: 'unknown-user' }), 1);
  });

  it('leave JSON log lines with reqId, queue, jobId, articleId and deliveryId, addresses masked', () => {
    const lines = h.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    const refused = lines.filter((l) => l.msg === 'notification not accepted');
    assert.ok(refused.length >= 2);
    for (const l of refused) {
      assert.equal(l.articleId, articleId);
      assert.equal(typeof l.deliveryId, 'number');
      assert.match(String(l.to), /^[bg]\*\*\*@example\.pl$/);
    }
    assert.ok(lines.some((l) => l.queue === 'send' && typeof l.jobId === 'string' && l.articleId === articleId), 'a send job line');
    assert.ok(lines.some((l) => typeof l.reqId === 'string' && (l.req as { url?: string } | undefined)?.url === '/api/articles'), 'a request line');
    assert.ok(!h.logs.some((l) => /(blocked|gone|ok0|ok1)@example\.pl/.test(l)), 'no full address in the log');
  });

  it('count jobs waiting behind a paused queue', async () => {
    await h.http.post('/api/queues/send/pause').set(admin).expect(200);
    const res = await h.http.post('/api/articles').set(admin).send({ url: 'https://www.duw.pl/pl/komunikaty/2,Drugi.html', title: 'Drugi komunikat', topics: ['komunikaty'] });
    await eventually(async () => (await h.deps.queues.send.getJobCounts('waiting', 'paused')).paused! + (await h.deps.queues.send.getJobCounts('waiting')).waiting! > 0, 10_000, 'send job held');
    const text = (await h.http.get('/metrics').set(admin)).text;
    const held = (metricSample(text, 'powiadom_queue_jobs', { queue: 'send', state: 'waiting' }) ?? 0) + (metricSample(text, 'powiadom_queue_jobs', { queue: 'send', state: 'paused' }) ?? 0);
    assert.equal(held, 1);
    assert.equal(metricSample(text, 'powiadom_queue_paused', { queue: 'send' }), 1);
    await h.http.post('/api/queues/send/resume').set(admin).expect(200);
    await eventually(async () => {
      const { rows } = await h.db.pool.query("SELECT count(*)::int AS n FROM deliveries WHERE article_id = $1 AND status <> 'pending'", [res.body.id]);
      return rows[0].n === 3; // ok0, ok1, blocked: gone@ is suppressed since its 5.1.1
    }, 15_000, 'second round after resume');
  });
});

describe('GET /api/stats', () => {
  it('answers 401 without the admin token', async () => {
    assert.equal((await h.http.get('/api/stats')).status, 401);
  });

  it('matches the database: subscribers, deliveries, articles with progress, feeds with errors, queues', async () => {
    await h.db.pool.query("INSERT INTO feeds (url, topic, last_poll_at, last_error) VALUES ('https://www.duw.pl/rss.xml', 'komunikaty', now(), 'HTTP 503')");
    const { body } = await h.http.get('/api/stats').set(admin).expect(200);
    const db = async (sql: string) => Object.fromEntries((await h.db.pool.query<{ k: string; n: number }>(sql)).rows.map((r) => [r.k, r.n]));
    const subscribers = await db('SELECT status AS k, count(*)::int AS n FROM subscribers GROUP BY status');
    assert.deepEqual(body.subscribers.byStatus, { pending: 0, unsubscribed: 0, ...subscribers });
    assert.deepEqual(body.subscribers.byTopic.find((t: { slug: string }) => t.slug === 'komunikaty'), { slug: 'komunikaty', active: 4, total: 4 });
    const day = await db("SELECT status AS k, count(*)::int AS n FROM deliveries WHERE updated_at > now() - interval '24 hours' GROUP BY status");
    assert.deepEqual(body.deliveries.last24h, { pending: 0, sent: 0, failed: 0, suppressed: 0, ...day });
    assert.deepEqual(body.deliveries.last7d, body.deliveries.last24h);
    const first = body.articles.find((a: { id: number }) => a.id === articleId);
    assert.deepEqual(first.deliveries, { total: 4, pending: 0, sent: 2, failed: 2, suppressed: 0 });
    assert.equal(first.progress, 1);
    assert.equal(body.articles[0].title, 'Drugi komunikat');
    assert.deepEqual(body.feeds.map((f: { url: string; error: string }) => [f.url, f.error]), [['https://www.duw.pl/rss.xml', 'HTTP 503']]);
    assert.deepEqual(body.queues.map((q: { name: string }) => q.name).sort(), ['digest', 'digest-send', 'email', 'fanout', 'feeds', 'maintenance', 'send']);
    assert.equal(typeof body.oldestWaitingSeconds, 'number');
  });
});

describe('POST /api/articles/:id/retry', () => {
  it('sends the failed deliveries again; an address suppressed meanwhile is not mailed', async () => {
    h.smtp.onRecipient = () => ({ ok: true });
    const res = await h.http.post(`/api/articles/${articleId}/retry`).set(admin);
    assert.equal(res.status, 202);
    assert.deepEqual(res.body, { articleId, requeued: 2, jobs: 1 });
    await eventually(async () => (await deliveryStatuses()).join() === 'sent,sent,sent,suppressed', 15_000, 'retried round');
    assert.equal(h.smtp.to('blocked@example.pl').length, 1);
    assert.equal(h.smtp.to('gone@example.pl').length, 0, 'the address suppressed after its 5.1.1 is not mailed');
  });

  it('never retries suppressed deliveries', async () => {
    const { rows } = await h.db.pool.query("SELECT id FROM articles WHERE title = 'Drugi komunikat'");
    const other = rows[0].id as number;
    await h.db.pool.query("UPDATE deliveries SET status = 'suppressed' WHERE article_id = $1 AND status = 'failed'", [other]);
    const res = await h.http.post(`/api/articles/${other}/retry`).set(admin);
    assert.deepEqual(res.body, { articleId: other, requeued: 0, jobs: 0 });
    const { rows: left } = await h.db.pool.query("SELECT count(*)::int AS n FROM deliveries WHERE article_id = $1 AND status = 'suppressed'", [other]);
    assert.equal(left[0].n, 1);
  });

  it('answers 404 for an unknown article and 401 without the token', async () => {
    assert.equal((await h.http.post('/api/articles/999999/retry').set(admin)).status, 404);
    assert.equal((await h.http.post(`/api/articles/${articleId}/retry`)).status, 401);
  });
});

describe('canary', () => {
  it('is not scheduled without CANARY_EMAIL', async () => {
    assert.equal(await h.deps.queues.maintenance.getJobScheduler(CANARY_SCHEDULER), undefined);
  });

  it('sends a test message through the SMTP server, is scheduled, and exposes the time of its last success', async () => {
    const ctx = { ...h.workers!.ctx, config: { ...h.config, CANARY_EMAIL: 'canary@duw.example', CANARY_INTERVAL_MS: 600_000 } };
    await scheduleCanary(ctx);
    assert.ok(await h.deps.queues.maintenance.getJobScheduler(CANARY_SCHEDULER));
    const before = Date.now() / 1000;
    await sendCanary(ctx);
    assert.match(h.smtp.to('canary@duw.example')[0]!.parsed.subject ?? '', /^Powiadom: test wysyłki/);
    const text = (await h.http.get('/metrics').set(admin)).text;
    assert.ok((metricSample(text, 'powiadom_canary_last_success_timestamp_seconds') ?? 0) >= Math.floor(before));
    assert.equal(metricSample(text, 'powiadom_emails_total', { kind: 'canary', outcome: 'sent' }), 1);
    await h.deps.queues.maintenance.removeJobScheduler(CANARY_SCHEDULER);
  });
});

/** Names of the series a PromQL expression reads (ours, prom-client's defaults, Prometheus's `up`). */
function seriesIn(expr: string): string[] {
  return [...new Set(expr.match(/\b(?:powiadom|process|nodejs)_[a-z0-9_]+|\bup\b/g) ?? [])];
}

/** Every series name /metrics exposes, histograms with their _bucket, _count and _sum. */
function exposedSeries(text: string): Set<string> {
  const names = new Set(['up']);
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram' || type === 'summary') for (const suffix of ['_bucket', '_count', '_sum']) names.add(`${name}${suffix}`);
  }
  return names;
}

describe('alert rules and Grafana dashboard in .ops/', () => {
  it('parse, and every metric they reference exists after a notification round', async () => {
    const exposed = exposedSeries((await h.http.get('/metrics').set(admin)).text);
    const rules = parseYaml(await readFile('.ops/prometheus/alerts.yml', 'utf8')) as { groups: { name: string; rules: Record<string, unknown>[] }[] };
    const alerts = rules.groups.flatMap((g) => g.rules);
    assert.ok(alerts.length >= 8);
    for (const rule of alerts) {
      assert.match(String(rule.alert), /^Powiadom[A-Za-z]+$/);
      assert.ok(['warning', 'critical'].includes((rule.labels as { severity: string }).severity), String(rule.alert));
      assert.ok((rule.annotations as { summary?: string }).summary, String(rule.alert));
      if (rule.for !== undefined) assert.match(String(rule.for), /^\d+[smh]$/);
      const series = seriesIn(String(rule.expr));
      assert.ok(series.length > 0, `${String(rule.alert)} reads no metric`);
      for (const name of series) assert.ok(exposed.has(name), `${String(rule.alert)}: ${name} is not exposed`);
    }
    const wanted = ['PowiadomBacklogGrowing', 'PowiadomOldestJobWaiting', 'PowiadomSendFailureRate', 'PowiadomSmtpUnreachable', 'PowiadomNoWorker', 'PowiadomFeedNotPolled'];
    for (const name of wanted) assert.ok(alerts.some((r) => r.alert === name), name);

    const dashboard = JSON.parse(await readFile('.ops/grafana/dashboards/powiadom.json', 'utf8')) as { uid: string; panels: { type: string; title: string; targets?: { expr: string }[] }[] };
    assert.equal(dashboard.uid, 'powiadom');
    const targets = dashboard.panels.filter((p) => p.type !== 'row').flatMap((p) => (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr })));
    assert.ok(targets.length >= 15);
    for (const { title, expr } of targets) {
      for (const name of seriesIn(expr)) assert.ok(exposed.has(name), `panel "${title}": ${name} is not exposed`);
    }
    const prometheus = parseYaml(await readFile('.ops/prometheus/prometheus.yml', 'utf8')) as { rule_files: string[]; scrape_configs: { job_name: string }[] };
    assert.deepEqual(prometheus.scrape_configs.map((c) => c.job_name), ['powiadom-api', 'powiadom-worker']);
  });
});
