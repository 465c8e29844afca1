import { parentPort, workerData } from 'node:worker_threads';
import { loadConfig } from '../src/config.ts';
import { createPool } from '../src/db/pool.ts';
import { createRoleLogger } from '../src/log.ts';
import { EmailRenderer, type EmailSources } from '../src/mail/render.ts';
import { createSendPath } from '../src/mail/send-path.ts';
import { createWorkerRedis } from '../src/infra/redis.ts';
import { observeWorker } from './job-metrics.ts';
import { answerMetricsRequests, threadChannel } from '../src/metrics/metrics-ipc.ts';
import { createSendWorker } from './send-worker.ts';
import { createDigestSendWorker } from './digest-send-worker.ts';
import { senderThreadCount, STOP_MESSAGE } from './sender-threads.ts';

/**
 * A sender thread (started by workers/sender-threads.ts): runs only the send queue's worker, on
 * connections of its own. It loads no HTTP stack and no MJML — the parent hands over the compiled
 * templates — so a thread costs a fraction of a process. It stops when the parent posts STOP_MESSAGE.
 */
async function main(): Promise<void> {
  if (!parentPort) throw new Error('workers/sender-thread.ts runs as a worker thread of workers/main.ts');
  const port = parentPort;
  const { index, sources } = workerData as { index: number; sources: EmailSources[] };
  const config = loadConfig();
  const log = createRoleLogger(config, 'sender').child({ thread: index });
  const pool = createPool(config.DATABASE_URL);
  pool.on('error', (err) => log.warn({ err }, 'idle PostgreSQL client failed'));
  const workerRedis = createWorkerRedis(config.REDIS_URL, log);
  const { mailer, notifications, digestMail } = createSendPath(config, { renderer: new EmailRenderer(sources), senderThreads: senderThreadCount(config) });
  const worker = createSendWorker({ config, log, pool, notifications, workerRedis, mailer });
  observeWorker(worker, log);
  // digests share the send path's cores: the thread also works the digest send queue
  const digestWorker = createDigestSendWorker({ config, log, pool, digestMail, workerRedis, mailer });
  observeWorker(digestWorker, log);
  answerMetricsRequests(threadChannel(port));
  port.on('message', (message: unknown) => {
    if (message !== STOP_MESSAGE) return;
    void (async () => {
      await Promise.all([worker.close(), digestWorker.close()]);
      await mailer.close();
      await workerRedis.quit().catch(() => workerRedis.disconnect());
      await pool.end();
      log.info('sender thread stopped');
      port.close();
    })();
  });
  log.info({ mail: mailer.destination }, 'sender thread started');
}

void main();
