/**
 * `npm run bench:console`: seeds a database of its own with 100,000 subscribers (BENCH_SUBSCRIBERS),
 * 50 articles, each with a delivery-ledger row per subscriber of its section (about 1.25 million rows,
 * 1% failed), 2,000 suppressions and 10,000 audit entries; then times every console page through the
 * app (Basic admin:ADMIN_TOKEN, no network): 3 warm-up requests, then 20 (BENCH_RUNS) timed ones. Prints the median
 * and 95th percentile per page, and whether each is under 200 ms. Not a test: figures depend on the machine.
 */
import { randomBytes } from 'node:crypto';
import supertest from 'supertest';
import { createApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config.ts';
import { closeDeps, createDeps } from '../../src/deps.ts';
import { createLogger } from '../../src/log.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { deleteKeysWithPrefix } from '../helpers/redis.ts';

const N = Number(process.env.BENCH_SUBSCRIBERS ?? 100_000);
const ADMIN_TOKEN = 'bench-admin-token-0123456789';
const RUNS = Number(process.env.BENCH_RUNS ?? 20);

async function seed(pool: import('pg').Pool): Promise<void> {
  await pool.query(
    `INSERT INTO subscribers (email, status, lang, confirmed_at)
     SELECT 'osoba' || g || '@example.pl', CASE WHEN g % 10 = 0 THEN 'unsubscribed' WHEN g % 17 = 0 THEN 'pending' ELSE 'active' END, 'pl', now()
     FROM generate_series(1, $1) g`,
    [N],
  );
  await pool.query(`INSERT INTO subscriber_topics SELECT id, (ARRAY['aktualnosci','dla-mediow','komunikaty','ogloszenia'])[1 + id % 4] FROM subscribers`);
  await pool.query(`INSERT INTO consents (subscriber_id, source, consent_text_version, confirmed_at) SELECT id, 'bench', 'v1', now() FROM subscribers`);
  await pool.query(
    `INSERT INTO articles (guid, url, title, topics, fanout_status, fanout_done_at, published_at)
     SELECT 'a' || g, 'https://www.duw.pl/a/' || g, 'Artykuł numer ' || g, ARRAY[(ARRAY['aktualnosci','dla-mediow','komunikaty','ogloszenia'])[1 + g % 4]], 'done', now(), now() - g * interval '1 hour'
     FROM generate_series(1, 50) g`,
  );
  await pool.query(
    `INSERT INTO deliveries (article_id, subscriber_id, status, attempts, last_error, sent_at)
     SELECT a.id, st.subscriber_id, CASE WHEN st.subscriber_id % 100 = 0 THEN 'failed' ELSE 'sent' END, 1,
            CASE WHEN st.subscriber_id % 100 = 0 THEN '550 5.1.1 <osoba' || st.subscriber_id || '@example.pl>: User unknown' END, now()
     FROM articles a JOIN subscriber_topics st ON st.topic_slug = a.topics[1]`,
  );
  await pool.query(`INSERT INTO suppressions (email_hash, reason) SELECT md5(g::text) || md5((g + 1)::text), 'hard_bounce' FROM generate_series(1, 2000) g`);
  await pool.query(`INSERT INTO audit_log (actor, action, object_type, object_id) SELECT 'anna@duw.example', 'subscriber.unsubscribe', 'subscriber', g::text FROM generate_series(1, 10000) g`);
  await pool.query(
    `INSERT INTO inbound_messages (message_key, source, kind, outcome, email_hash, soft, received_at)
     SELECT 'imap:<' || g || '@bench>', 'imap', (ARRAY['bounce','bounce','complaint','unsubscribe','auto_reply','unknown'])[1 + g % 6],
            (ARRAY['suppressed','soft','suppressed','unsubscribed','ignored','unknown'])[1 + g % 6], md5(g::text), g % 6 = 1, now() - (g % 168) * interval '1 hour'
     FROM generate_series(1, 20000) g`,
  );
  // Transactional e-mails of the last 7 days (the counters of migration 0011; absent in older versions).
  if ((await pool.query(`SELECT to_regclass('mail_outcomes_hourly') AS t`)).rows[0].t) {
    await pool.query(
      `INSERT INTO mail_outcomes_hourly (hour, kind, outcome, count)
       SELECT date_trunc('hour', now()) - h * interval '1 hour', k, o, 1 + (h * 7) % 50
       FROM generate_series(1, 168) h, unnest(ARRAY['confirmation','already-subscribed','welcome','manage-link']) k, unnest(ARRAY['sent','failed','deferred','suppressed']) o`,
    );
  }
  await pool.query('ANALYZE');
}

async function timePage(http: supertest.Agent, path: string): Promise<{ median: number; p95: number }> {
  const auth = `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`;
  const once = async () => {
    const start = performance.now();
    const res = await http.get(path).set('Authorization', auth).redirects(2);
    if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
    return performance.now() - start;
  };
  for (let i = 0; i < 3; i++) await once();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push(await once());
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(RUNS / 2)]!, p95: times[Math.ceil(RUNS * 0.95) - 1]! };
}

async function main(): Promise<void> {
  const db = await createTestDatabase('bench_console');
  const prefix = `powiadom-bench-console-${randomBytes(3).toString('hex')}`;
  try {
    const t0 = performance.now();
    await seed(db.pool);
    console.log(`seeded ${N} subscribers, 50 articles in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const config = parseConfig({ NODE_ENV: 'test', DATABASE_URL: db.url, QUEUE_PREFIX: prefix, ADMIN_TOKEN, LOG_LEVEL: 'silent', SECRET: 'bench-secret-0123456789-0123456789-0123' });
    const deps = await createDeps(config, createLogger('silent'));
    const http = supertest.agent(createApp(deps));
    const subscriber = (await db.pool.query<{ id: number }>(`SELECT id FROM subscribers WHERE id % 100 = 0 LIMIT 1`)).rows[0]!.id;
    const pages = ['/admin', '/admin/articles', '/admin/articles/1', '/admin/articles/new', `/admin/subscribers?email=osoba${subscriber}%40example.pl`, `/admin/subscribers/${subscriber}`, '/admin/topics', '/admin/suppressions', '/admin/suppressions?email=osoba5%40example.pl', '/admin/inbound', '/admin/audit'];
    console.log('page'.padEnd(48), 'median ms', 'p95 ms', '< 200 ms');
    for (const page of pages) {
      const probe = await http.get(page).set('Authorization', `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`).redirects(2);
      if (probe.status === 404) {
        console.log(page.padEnd(48), 'not in this version');
        continue;
      }
      const { median, p95 } = await timePage(http, page);
      console.log(page.padEnd(48), median.toFixed(1).padStart(9), p95.toFixed(1).padStart(6), p95 < 200 ? 'yes' : 'NO');
    }
    await closeDeps(deps);
  } finally {
    await db.drop();
    await deleteKeysWithPrefix(prefix);
  }
}

await main();
