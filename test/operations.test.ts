import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN_TOKEN, startHarness, type Harness } from './helpers/harness.ts';
import { metricSample } from './helpers/metrics.ts';

const METRICS_TOKEN = 'test-metrics-token-abcdef0123456789';
let h: Harness;
before(async () => {
  h = await startHarness({ label: 'operations', workers: false, env: { METRICS_TOKEN } });
});
after(async () => {
  await h.close();
});

const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** The value of one sample of the Prometheus text, or undefined. */

describe('queue dashboard', () => {
  it('asks for Basic credentials without them, on the page and on its JSON API', async () => {
    for (const path of ['/admin/queues', '/admin/queues/api/queues']) {
      const res = await h.http.get(path);
      assert.equal(res.status, 401, path);
      assert.match(res.headers['www-authenticate'] ?? '', /^Basic realm="[^"]+"/);
    }
  });

  it('refuses a wrong password and a wrong user name', async () => {
    for (const auth of [basic('admin', 'wrong-password-0123456789'), basic('root', ADMIN_TOKEN), 'Basic !!!']) {
      const res = await h.http.get('/admin/queues/api/queues').set('Authorization', auth);
      assert.equal(res.status, 401, auth);
    }
  });

  it('shows the page with a CSP relaxed for its styles only', async () => {
    const res = await h.http.get('/admin/queues').set('Authorization', basic('admin', ADMIN_TOKEN));
    assert.equal(res.status, 200);
    assert.match(res.text, /<div id="root">/);
    const csp = res.headers['content-security-policy'] ?? '';
    assert.match(csp, /style-src[^;]*'unsafe-inline'/);
    assert.doesNotMatch(csp, /script-src[^;]*'unsafe-inline'/);
    const elsewhere = await h.http.get('/subscribe');
    assert.doesNotMatch(elsewhere.headers['content-security-policy'] ?? '', /'unsafe-inline'/);
  });

  it('lists every queue of the application through its API', async () => {
    const res = await h.http.get('/admin/queues/api/queues').set('Authorization', basic('admin', ADMIN_TOKEN));
    assert.equal(res.status, 200);
    const names = (res.body.queues as { name: string }[]).map((q) => q.name).sort();
    assert.deepEqual(names, h.deps.queues.all().map((q) => q.name).sort());
  });
});

describe('metrics endpoint', () => {
  it('answers 401 without a token and with a wrong one', async () => {
    assert.equal((await h.http.get('/metrics')).status, 401);
    assert.equal((await h.http.get('/metrics').set('Authorization', 'Bearer not-the-metrics-token-000')).status, 401);
    assert.equal((await h.http.get('/metrics').set('Authorization', basic('admin', ADMIN_TOKEN))).status, 401);
  });

  it('accepts the metrics token and the admin token', async () => {
    for (const token of [METRICS_TOKEN, ADMIN_TOKEN]) {
      const res = await h.http.get('/metrics').set('Authorization', `Bearer ${token}`);
      assert.equal(res.status, 200);
      assert.match(res.headers['content-type'] ?? '', /^text\/plain/);
      assert.match(res.text, /^# HELP process_cpu_user_seconds_total/m);
    }
  });

  it('reads queue counts from Redis at scrape time, including delayed jobs', async () => {
    await h.deps.queues.maintenance.add('expire-pending', { task: 'expire-pending' }, { delay: 60_000, jobId: 'metrics-delayed' });
    await h.deps.queues.maintenance.add('expire-pending', { task: 'expire-pending' }, { jobId: 'metrics-waiting' });
    const res = await h.http.get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`);
    assert.equal(metricSample(res.text, 'powiadom_queue_jobs', { queue: 'maintenance', state: 'delayed' }), 1);
    assert.equal(metricSample(res.text, 'powiadom_queue_jobs', { queue: 'maintenance', state: 'waiting' }), 1);
    assert.equal(metricSample(res.text, 'powiadom_queue_jobs', { queue: 'send', state: 'waiting' }), 0);
    assert.ok((metricSample(res.text, 'powiadom_queue_oldest_waiting_seconds', { queue: 'maintenance' }) ?? -1) >= 0);
    await h.deps.queues.maintenance.obliterate({ force: true });
  });

  it('labels HTTP requests by route pattern, never by a path holding a token', async () => {
    await h.http.get('/unsubscribe/secret-token-that-must-not-appear');
    const res = await h.http.get('/metrics').set('Authorization', `Bearer ${ADMIN_TOKEN}`);
    assert.ok((metricSample(res.text, 'powiadom_http_requests_total', { route: '/unsubscribe/:token', method: 'GET' }) ?? 0) >= 1);
    assert.ok((metricSample(res.text, 'powiadom_http_request_duration_seconds_count', { route: '/unsubscribe/:token' }) ?? 0) >= 1);
    assert.doesNotMatch(res.text, /secret-token-that-must-not-appear/);
  });
});

describe('queue actions', () => {
  it('pauses and resumes a real queue', async () => {
    const paused = await h.http.post('/api/queues/send/pause').set(admin);
    assert.equal(paused.status, 200);
    assert.deepEqual(paused.body, { queue: 'send', paused: true });
    assert.equal(await h.deps.queues.send.isPaused(), true);
    const metrics = await h.http.get('/metrics').set(admin);
    assert.equal(metricSample(metrics.text, 'powiadom_queue_paused', { queue: 'send' }), 1);
    const resumed = await h.http.post('/api/queues/send/resume').set(admin);
    assert.deepEqual(resumed.body, { queue: 'send', paused: false });
    assert.equal(await h.deps.queues.send.isPaused(), false);
  });

  it('answers 404 for an unknown queue and 401 without the admin token', async () => {
    assert.equal((await h.http.post('/api/queues/nope/pause').set(admin)).status, 404);
    assert.equal((await h.http.post('/api/queues/send/pause')).status, 401);
    assert.equal(await h.deps.queues.send.isPaused(), false);
  });
});
