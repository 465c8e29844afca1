import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { importSubscribers } from '../../src/core/subscriber-import.ts';
import { ADMIN_TOKEN, eventually, startHarness, type Harness } from './harness.ts';
import { makeTestCertificates, startCountingSink, startPostfix, type CountingSink, type TestCertificates, type ThrowawayPostfix } from './postfix.ts';

// Scenarios of Powiadom in front of a real Debian Postfix (a throwaway instance, see postfix.ts) relaying to a
// sink that counts per recipient. Each scenario has its own harness and its own recipients; a test file
// calls useRelay() once and shares one Postfix among its scenarios.
/** The file's Postfix, sink and certificates (set once useRelay's before hook ran). */
export let postfix: ThrowawayPostfix;
/** The next hop behind the Postfix. */
export let sink: CountingSink;
/** The private CA and the Postfix's certificate (STARTTLS on postfix.submissionPort). */
export let certs: TestCertificates;
let certDir: string;
const harnesses: Harness[] = [];

/** Registers the hooks that start the Postfix and sink before the file's tests and remove everything after. */
export function useRelay(options: { certificates?: boolean } = {}): void {
  before(async () => {
    sink = await startCountingSink();
    certDir = mkdtempSync(path.join(tmpdir(), 'powiadom-certs-'));
    if (options.certificates) certs = await makeTestCertificates(certDir);
    postfix = await startPostfix({
      relayTo: `127.0.0.1:${sink.port}`,
      // STARTTLS only on the second port: a client verifies any certificate it is offered
      main: {
        ...(certs ? { smtpd_tls_cert_file: certs.certFile, smtpd_tls_key_file: certs.keyFile } : {}),
        smtpd_tls_security_level: 'none',
        smtpd_tls_loglevel: '1',
        smtpd_relay_restrictions: 'permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination',
      },
      submission: certs ? ['smtpd_tls_security_level=encrypt'] : [],
    });
  });
  after(async () => {
    for (const h of harnesses) await h.close();
    await postfix?.destroy();
    await sink?.close();
    if (certDir) rmSync(certDir, { recursive: true, force: true });
  });
}

/** A harness sending through the Postfix, with `count` active subscribers of `topic` named `<label>-<i>@example.pl`. */
export async function setup(label: string, count: number, env: Record<string, string> = {}, topic = 'komunikaty'): Promise<Harness> {
  const h = await startHarness({ label: `postfix-${label}`, workers: false, env: { SMTP_URL: postfix.url, SEND_BACKOFF_MS: '500', ...env } });
  harnesses.push(h);
  await subscribe(h, label, count, topic);
  return h;
}

/** Adds `count` active subscribers of `topic` named `<label>-<i>@example.pl`. */
export async function subscribe(h: Harness, label: string, count: number, topic: string): Promise<void> {
  await importSubscribers(h.deps.pool, Array.from({ length: count }, (_, i) => ({ email: `${label}-${i}@example.pl`, topics: topic })));
}

/** Publishes an article for one topic. */
export async function publish(h: Harness, title: string, topic = 'komunikaty'): Promise<number> {
  const res = await h.http.post('/api/articles').set({ Authorization: `Bearer ${ADMIN_TOKEN}` })
    .send({ url: `https://www.duw.pl/${encodeURIComponent(title)}`, title, topics: [topic] });
  assert.equal(res.status, 202);
  return res.body.id as number;
}

/** The delivery ledger of the harness's database (of one article when given) by status. */
export async function ledger(h: Harness, articleId?: number): Promise<{ sent: number; failed: number; pending: number }> {
  const { rows } = await h.deps.pool.query<{ sent: number; failed: number; pending: number }>(
    `SELECT count(*) FILTER (WHERE status = 'sent')::int AS sent, count(*) FILTER (WHERE status = 'failed')::int AS failed,
            count(*) FILTER (WHERE status = 'pending')::int AS pending FROM deliveries WHERE $1::bigint IS NULL OR article_id = $1`,
    [articleId ?? null],
  );
  return rows[0]!;
}

/** How many messages the sink got per recipient of this scenario. */
export function arrivals(label: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of sink.received) for (const to of m.to) if (to.startsWith(`${label}-`)) counts.set(to, (counts.get(to) ?? 0) + 1);
  return counts;
}

/** Every recipient of the scenario got exactly one message (polls: Postfix delivers asynchronously). */
export async function assertDeliveredOnce(label: string, count: number, timeoutMs = 90_000): Promise<void> {
  await eventually(() => arrivals(label).size === count, timeoutMs, `${count} recipients of ${label} reached through Postfix`);
  await new Promise((r) => setTimeout(r, 300));
  const duplicates = [...arrivals(label).values()].filter((n) => n > 1).length;
  assert.equal(duplicates, 0, 'no recipient got the message twice');
}

/** GET /api/stats of the harness. */
export async function stats(h: Harness): Promise<{ smtp: { state: string; hint?: string; error?: string } }> {
  const res = await h.http.get('/api/stats').set({ Authorization: `Bearer ${ADMIN_TOKEN}` });
  assert.equal(res.status, 200);
  return res.body;
}

/** GET /metrics of the harness. */
export async function metrics(h: Harness): Promise<string> {
  return (await h.http.get('/metrics').set({ Authorization: `Bearer ${ADMIN_TOKEN}` })).text;
}

/** Lines of the Postfix log matching `pattern`. */
export function postfixLogLines(pattern: RegExp): number {
  return postfix.log().split('\n').filter((l) => pattern.test(l)).length;
}

/** Runs a test body; when it fails, prints the last log lines of Powiadom and Postfix. */
export function withLogs(body: () => Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await body();
    } catch (err) {
      const h = harnesses.at(-1);
      console.log((h?.logs ?? []).slice(-30).map((line) => `# log: ${line.trimEnd()}`).join('\n'));
      console.log(postfix.log().split('\n').slice(-20).map((line) => `# postfix: ${line}`).join('\n'));
      throw err;
    }
  };
}

/** Stops a harness's workers, so its pooled connections leave the relay's connection slots. */
export async function retire(h: Harness): Promise<void> {
  await h.workers?.close();
  h.workers = null;
}

/** Sends one article to the `label` subscribers of `topic` and times it until every one arrived behind the Postfix. */
export async function timeFanout(h: Harness, label: string, count: number, topic: string): Promise<number> {
  const started = Date.now();
  const articleId = await publish(h, `Komunikat ${label}`, topic);
  await assertDeliveredOnce(label, count);
  const seconds = (Date.now() - started) / 1000;
  assert.deepEqual(await ledger(h, articleId), { sent: count, failed: 0, pending: 0 });
  return seconds;
}

/** Resolves once every session Postfix accepted has ended (idle connections closed, harnesses retired). */
export async function allConnectionsClosed(what = 'every connection closed'): Promise<void> {
  await eventually(() => {
    const log = postfix.log();
    return (log.match(/ connect from /g) ?? []).length === (log.match(/ disconnect from /g) ?? []).length;
  }, 60_000, what);
}
