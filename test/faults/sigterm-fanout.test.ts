import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { importSubscribers } from '../../src/core/subscriber-import.ts';
import { ADMIN_TOKEN, childEnv, eventually, startHarness, type Harness } from '../helpers/harness.ts';

// SIGTERM to a worker process (workers/main.ts with one sender thread) in the middle of an article's
// delivery: what it has started it finishes and records, it exits 0 within SHUTDOWN_GRACE_MS, and a
// second start sends the rest. Only the test's own child processes are signalled.
const N = 1500;
const GRACE_MS = 5000;
let h: Harness;
const children = new Set<number>();
before(async () => {
  h = await startHarness({ label: 'sigterm', workers: false });
  await importSubscribers(h.deps.pool, Array.from({ length: N }, (_, i) => ({ email: `term-${i}@example.pl`, topics: 'komunikaty' })));
});
after(async () => {
  // Each worker process leads its own process group.
  for (const pid of children) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await h?.close();
});

/** A worker process and the messages of its log so far. */
interface WorkerProcess {
  child: ChildProcess;
  messages: string[];
}

/** Starts `node --import tsx workers/main.ts` on the test's database, queue prefix and SMTP server. */
function startWorkerProcess(): WorkerProcess {
  const env = childEnv(h, {
    SMTP_POOL_SIZE: '2',
    SENDER_THREADS: '1',
    WORKER_CONCURRENCY: '2',
    SEND_BATCH_SIZE: '50',
    SHUTDOWN_GRACE_MS: String(GRACE_MS),
    RECONCILE_INTERVAL_MS: '1000',
    LOG_LEVEL: 'info',
  });
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], { env, stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  children.add(child.pid!);
  const messages: string[] = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const complete = buffered.split('\n');
    buffered = complete.pop()!;
    for (const line of complete) if (line.startsWith('{')) messages.push((JSON.parse(line) as { msg: string }).msg);
  });
  return { child, messages };
}

/** Waits until the process's sender thread has started its worker. */
async function senderThreadStarted(worker: WorkerProcess): Promise<void> {
  await eventually(() => worker.messages.includes('sender thread started'), 150_000, 'the sender thread started');
}

async function ledger(articleId: number): Promise<{ sent: number; pending: number; claimed: number; other: number }> {
  const { rows } = await h.deps.pool.query<{ sent: number; pending: number; claimed: number; other: number }>(
    `SELECT count(*) FILTER (WHERE status = 'sent')::int AS sent, count(*) FILTER (WHERE status = 'pending')::int AS pending,
            count(*) FILTER (WHERE status = 'pending' AND claimed_by IS NOT NULL)::int AS claimed,
            count(*) FILTER (WHERE status NOT IN ('sent', 'pending'))::int AS other
     FROM deliveries WHERE article_id = $1`,
    [articleId],
  );
  return rows[0]!;
}

/** Addresses the SMTP server recorded for one article, duplicates included. */
function recipientsOf(articleId: number): string[] {
  return h.smtp.received.filter((m) => m.parsed.messageId?.startsWith(`<notification-${articleId}-`)).map((m) => m.to[0]!);
}

async function publish(title: string): Promise<number> {
  const res = await h.http.post('/api/articles').set({ Authorization: `Bearer ${ADMIN_TOKEN}` })
    .send({ url: `https://www.duw.pl/${encodeURIComponent(title)}`, title, topics: ['komunikaty'] });
  assert.equal(res.status, 202);
  return res.body.id as number;
}

/** SIGTERMs a worker process (after `whileStopping` runs, if given); returns how long it took to exit, asserting status 0 within the grace period. */
async function terminate(worker: WorkerProcess, whileStopping?: () => Promise<void>): Promise<number> {
  const { child, messages } = worker;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const termAt = Date.now();
  child.kill('SIGTERM');
  await whileStopping?.();
  const { code, signal } = await exited;
  const stopMs = Date.now() - termAt;
  assert.deepEqual({ code, signal }, { code: 0, signal: null }, 'exit status 0');
  assert.ok(stopMs < GRACE_MS, `exited within SHUTDOWN_GRACE_MS (${stopMs} ms)`);
  // the sender thread finished its jobs and closed its connections before the process ended
  const stopped = messages.indexOf('sender thread stopped');
  assert.ok(stopped >= 0, 'the sender thread stopped in order');
  assert.ok(stopped < messages.lastIndexOf('stopped'), 'before the process finished its shutdown');
  return stopMs;
}

/** Starts a second worker process, waits until everything is sent, stops it, and checks each subscriber got one message. */
async function assertRestDeliveredOnce(articleId: number): Promise<void> {
  const second = startWorkerProcess();
  await eventually(async () => (await ledger(articleId)).sent === N, 40_000, 'the rest sent after the second start');
  await new Promise((r) => setTimeout(r, 500));
  await senderThreadStarted(second);
  await terminate(second);
  const recipients = recipientsOf(articleId);
  assert.equal(new Set(recipients).size, N, 'every subscriber received it');
  // A clean stop leaves nothing in flight, so the bound is 0 duplicates.
  assert.equal(recipients.length, N, `duplicates: ${recipients.length - N}`);
}

async function fanoutStatus(articleId: number): Promise<string> {
  const { rows } = await h.deps.pool.query<{ fanout_status: string }>('SELECT fanout_status FROM articles WHERE id = $1', [articleId]);
  return rows[0]!.fanout_status;
}

async function sentAddresses(articleId: number): Promise<Set<string>> {
  const { rows } = await h.deps.pool.query<{ email: string }>(
    "SELECT s.email FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE d.article_id = $1 AND d.status = 'sent'",
    [articleId],
  );
  return new Set(rows.map((r) => r.email));
}

describe('SIGTERM during a fan-out', () => {
  it('lets the running fan-out job finish, exits 0 within the grace period, and the next start sends everything exactly once', async () => {
    const first = startWorkerProcess();
    await senderThreadStarted(first);
    // Hold the fan-out at its first ledger write, so SIGTERM arrives while the fan-out job runs for sure.
    const blocker = await h.db.pool.connect();
    let articleId: number;
    let stopMs: number;
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE deliveries IN SHARE MODE');
      articleId = await publish('Wdrożenie w trakcie rozsyłki');
      await eventually(async () => (await fanoutStatus(articleId)) === 'running', 10_000, 'fan-out started');
      stopMs = await terminate(first, async () => {
        await new Promise((r) => setTimeout(r, 300));
        await blocker.query('COMMIT');
      });
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      blocker.release();
    }
    assert.equal(await fanoutStatus(articleId), 'done', 'the fan-out finished during the grace period');
    const afterStop = await ledger(articleId);
    assert.equal(afterStop.sent + afterStop.pending, N, 'the whole ledger written');
    assert.equal(afterStop.claimed, 0, 'no delivery left claimed');
    assert.equal(afterStop.other, 0);
    await assertRestDeliveredOnce(articleId);
    console.log(`# SIGTERM mid-fan-out job: exited 0 after ${stopMs} ms (grace ${GRACE_MS} ms), ${afterStop.sent}/${N} sent before the exit`);
  });

  it('finishes and records in-flight sends, exits 0 within the grace period, and the next start sends the rest exactly once', async () => {
    const first = startWorkerProcess();
    await senderThreadStarted(first);
    const articleId = await publish('Wdrożenie w trakcie wysyłki');
    await eventually(() => recipientsOf(articleId).length >= 300, 30_000, 'sending under way');
    const stopMs = await terminate(first);

    // Every send that had begun was finished and recorded: nothing claimed-but-unsent remains, and the
    // server got exactly the messages the ledger says were sent.
    await new Promise((r) => setTimeout(r, 300));
    const afterStop = await ledger(articleId);
    assert.equal(afterStop.claimed, 0, 'no delivery left claimed');
    assert.equal(afterStop.other, 0);
    assert.ok(afterStop.pending > 0, 'stopped before the end');
    const received = recipientsOf(articleId);
    assert.deepEqual(new Set(received), await sentAddresses(articleId), 'received = recorded as sent');
    assert.equal(received.length, afterStop.sent, 'no duplicate so far');
    await assertRestDeliveredOnce(articleId);
    console.log(`# SIGTERM mid-send at ${afterStop.sent}/${N} sent: exited 0 after ${stopMs} ms (grace ${GRACE_MS} ms)`);
  });
});
