import { Worker } from 'node:worker_threads';

/** One MJML document to compile; `filePath` resolves relative paths in it. */
export interface MjmlJob {
  source: string;
  filePath: string;
}

/** What MJML made of one document. */
export interface MjmlResult {
  html: string;
  errors: string[];
}

// Plain JavaScript, so the thread needs no TypeScript loader; it loads MJML, compiles, answers, ends.
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.mjmlUrl).then(async (mod) => {
  const mjml2html = mod.default ?? mod;
  const results = [];
  for (const job of workerData.jobs) {
    const out = await mjml2html(job.source, { filePath: job.filePath, validationLevel: 'strict' });
    results.push({ html: out.html, errors: out.errors.map((e) => e.formattedMessage) });
  }
  parentPort.postMessage(results);
});
`;

/**
 * Compiles MJML documents in a short-lived worker thread. MJML and its dependencies take ≈ 40 MB of a
 * V8 heap that nothing returns; templates are compiled once at start, so they are loaded in a thread
 * whose whole heap goes away with it, and the long-lived processes never hold them.
 */
export function compileMjmlInThread(jobs: MjmlJob[]): Promise<MjmlResult[]> {
  const worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { mjmlUrl: import.meta.resolve('mjml'), jobs } });
  return new Promise((resolve, reject) => {
    worker.once('message', (results: MjmlResult[]) => {
      resolve(results);
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the MJML compile thread exited with code ${code} before answering`)));
  });
}
