import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Config } from '../src/config.ts';
import type { Logger } from '../src/log.ts';
import { addMetricsSource, type MetricsJson } from '../src/metrics/metrics.ts';
import type { EmailSources } from '../src/mail/render.ts';
import { requestMetrics, threadChannel } from '../src/metrics/metrics-ipc.ts';

/** The message a sender thread stops on: it finishes its jobs, closes its connections and ends. */
export const STOP_MESSAGE = 'powiadom:stop';

const ENTRY = new URL(`./sender-thread${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href;
// A worker thread gets no module loader from its parent: under tsx it registers tsx before the entry.
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
(workerData.tsx ? import(workerData.tsx).then((api) => api.register()) : Promise.resolve()).then(() => import(workerData.entry));
`;

/** SENDER_THREADS, else one sender thread per core beyond the first (1 on a 2-core machine). */
export function senderThreadCount(config: Config): number {
  return config.SENDER_THREADS ?? Math.max(0, availableParallelism() - 1);
}

/**
 * Starts `count` sender threads that share the send queue with this process through BullMQ: sending is
 * CPU-bound, and a thread uses another core at a fraction of a process's memory (no second runtime,
 * HTTP stack or MJML). A thread that ends unasked is restarted after a second; all of them end with the
 * process, so none can outlive it.
 */
export function startSenderThreads(count: number, sources: EmailSources[], log: Logger): { close(): Promise<void> } {
  let closing = false;
  const threads = new Set<Worker>();
  const tsx = ENTRY.endsWith('.ts') ? import.meta.resolve('tsx/esm/api') : null;
  const startOne = (index: number) => {
    const thread = new Worker(BOOTSTRAP, { eval: true, workerData: { entry: ENTRY, tsx, index, sources } });
    threads.add(thread);
    thread.on('error', (err) => log.error({ err, sender: index }, 'sender thread failed'));
    thread.on('exit', (code) => {
      threads.delete(thread);
      if (closing) return;
      log.warn({ sender: index, code }, 'sender thread ended: restarting it');
      // Shutdown may begin during the pause: no thread is started once it has.
      setTimeout(() => !closing && startOne(index), 1000).unref();
    });
  };
  for (let i = 0; i < count; i++) startOne(i);
  // The threads' counters (sent e-mails, SMTP latency, job durations) appear in this process's /metrics.
  if (count > 0) {
    addMetricsSource(async () => (await Promise.all([...threads].map((thread) => requestMetrics(threadChannel(thread))))).filter((m): m is MetricsJson => m !== null));
  }
  return {
    async close() {
      closing = true;
      await Promise.all([...threads].map((thread) => new Promise<void>((resolve) => {
        thread.once('exit', () => resolve());
        thread.postMessage(STOP_MESSAGE);
      })));
    },
  };
}
