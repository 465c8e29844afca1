import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { importSubscribers } from '../../src/core/subscriber-import.ts';
import { ADMIN_TOKEN, childEnv, eventually, startHarness, type Harness } from '../helpers/harness.ts';
import { deleteKeysWithPrefix } from '../helpers/redis.ts';

// SIGKILL to a worker process in the middle of a digest run, then Redis loses every key (the run's jobs and
// the schedulers): a second worker process's reconciler rebuilds the jobs from the digest ledger and every
// reader gets the digest, with duplicates bounded by what was sent but not yet recorded (one chunk per job).
const N = 600;
const CONCURRENCY = 2;
const SEND_CHUNK = 50;
let h: Harness;
const children = new Set<number>();

before(async () => {
  h = await startHarness({ label: 'sigkilldigest', workers: false });
  await importSubscribers(h.deps.pool, Array.from({ length: N }, (_, i) => ({ email: `kill-${i}@example.pl`, topics: 'komunikaty', frequency: 'daily' })));
  const res = await h.http.post('/api/articles').set({ Authorization: `Bearer ${ADMIN_TOKEN}` }).send({ url: 'https://www.duw.pl/pl/kill', title: 'Komunikat w trakcie awarii', topics: ['komunikaty'] });
  assert.equal(res.status, 202);
  // a slow server, so the kill lands in the middle of sending
  h.smtp.dataReplyDelayMs = 10;
});
after(async () => {
  for (const pid of children) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await h?.close();
});

/** Starts `node --import tsx workers/main.ts` (no sender threads) on the test's database, queue prefix and SMTP server. */
function startWorkerProcess() {
  const env = childEnv(h, {
    SMTP_POOL_SIZE: '2',
    SENDER_THREADS: '0',
    WORKER_CONCURRENCY: String(CONCURRENCY),
    SEND_BATCH_SIZE: '100',
    RECONCILE_INTERVAL_MS: '1000',
    JOB_LOCK_MS: '2000',
    LOG_LEVEL: 'warn',
  });
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], { env, stdio: ['ignore', 'ignore', 'inherit'], detached: true });
  children.add(child.pid!);
  return child;
}

async function ledger(runId: number) {
  const { rows } = await h.deps.pool.query<{ sent: number; pending: number; other: number }>(
    `SELECT count(*) FILTER (WHERE status = 'sent')::int AS sent, count(*) FILTER (WHERE status = 'pending')::int AS pending,
            count(*) FILTER (WHERE status NOT IN ('sent', 'pending'))::int AS other
     FROM digest_deliveries WHERE run_id = $1`,
    [runId],
  );
  return rows[0]!;
}

const digestRecipients = (runId: number) => h.smtp.received.filter((m) => m.parsed.messageId?.startsWith(`<digest-${runId}-`)).map((m) => m.to[0]!);

describe('SIGKILL and Redis loss during a digest run', () => {
  it('heals through the reconciler: every reader gets the digest, duplicates at most one chunk per running job', async () => {
    const first = startWorkerProcess();
    const exited = new Promise((resolve) => first.once('exit', resolve));
    const run = await h.deps.digests.runNow('daily');
    await eventually(() => digestRecipients(run.id).length >= 120, 60_000, 'sending under way');
    process.kill(-first.pid!, 'SIGKILL');
    await exited;
    const atKill = await ledger(run.id);
    assert.ok(atKill.pending > 0, `killed before the end (${atKill.sent} sent)`);
    await deleteKeysWithPrefix(h.config.QUEUE_PREFIX);
    // The claims of the killed jobs keep other jobs off their deliveries for the lease (300 s): let it pass.
    await h.deps.pool.query("UPDATE digest_deliveries SET claimed_at = claimed_at - interval '10 minutes' WHERE run_id = $1 AND claimed_at IS NOT NULL", [run.id]);

    const second = startWorkerProcess();
    await eventually(async () => (await ledger(run.id)).pending === 0, 120_000, 'the rest sent after the restart');
    const finished = await eventually(async () => (await h.deps.digests.get(run.id))?.run.finished_at, 60_000, 'run stamped finished');
    assert.ok(finished);
    const final = await ledger(run.id);
    assert.deepEqual(final, { sent: N, pending: 0, other: 0 });
    const received = digestRecipients(run.id);
    assert.equal(new Set(received).size, N, 'every reader received the digest');
    const duplicates = received.length - N;
    assert.ok(duplicates <= CONCURRENCY * SEND_CHUNK, `duplicates ${duplicates} within the bound`);
    second.kill('SIGTERM');
    console.log(`# SIGKILL at ${atKill.sent}/${N} digests sent, Redis flushed: healed, ${duplicates} duplicates (bound ${CONCURRENCY * SEND_CHUNK})`);
  });
});
