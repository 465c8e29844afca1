import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { Express } from 'express';
import supertest from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { createApp } from '../../src/app.ts';
import { parseConfig, type Config } from '../../src/config.ts';
import { closeDeps, createDeps, type Deps } from '../../src/deps.ts';
import { createLogger } from '../../src/log.ts';
import { startWorkers, type RunningWorkers } from '../../workers/start.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { deleteKeysWithPrefix, TEST_REDIS_URL } from './redis.ts';
import { startSmtpServer, type TestSmtpServer } from './smtp.ts';

/** Admin bearer token every harness uses. */
export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

/** A complete Powiadom on its own database, queue prefix and SMTP server. */
export interface Harness {
  config: Config;
  deps: Deps;
  app: Express;
  http: TestAgent;
  smtp: TestSmtpServer;
  db: TestDatabase;
  workers: RunningWorkers | null;
  /** every log line written so far (JSON) */
  logs: string[];
  /** Starts the workers when the harness was created without them. */
  startWorkers(): Promise<RunningWorkers>;
  close(): Promise<void>;
}

/** Options of a harness. */
export interface HarnessOptions {
  env?: Record<string, string>;
  workers?: boolean;
  label?: string;
}

/** Creates a harness: database, SMTP server, dependencies, app and (by default) workers. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const db = await createTestDatabase(options.label);
  const smtp = await startSmtpServer();
  const prefix = `powiadom-test-${process.pid}-${randomBytes(3).toString('hex')}`;
  const config = parseConfig({
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    SMTP_URL: smtp.url,
    SMTP_POOL_SIZE: '2',
    PUBLIC_URL: 'http://powiadom.test',
    MAIL_FROM: 'Powiadom DUW <powiadom@duw.example>',
    SECRET: 'test-secret-0123456789-0123456789-0123456789',
    ADMIN_TOKEN,
    LOG_LEVEL: 'debug',
    SEND_BACKOFF_MS: '200',
    ...options.env,
  });
  const logs: string[] = [];
  const log = createLogger(config.LOG_LEVEL, false, { write: (line: string) => void logs.push(line) });
  const deps = await createDeps(config, log);
  const app = createApp(deps);
  const harness: Harness = {
    config,
    deps,
    app,
    http: supertest(app),
    smtp,
    db,
    workers: null,
    logs,
    async startWorkers() {
      harness.workers = await startWorkers(deps);
      return harness.workers;
    },
    async close() {
      // TEST_LOG_DIR keeps each harness's log lines for a look after the run (CI failures, flaky tests).
      if (process.env.TEST_LOG_DIR) writeFileSync(`${process.env.TEST_LOG_DIR}/${options.label ?? 'harness'}-${prefix}.log`, logs.join(''));
      // Every step is bounded: a stuck job must fail this file, not hold the whole run until CI's limit.
      const late: string[] = [];
      const step = async (name: string, work: () => Promise<unknown>, onLate?: () => Promise<unknown>) => {
        if (!(await finishesWithin(CLOSE_STEP_MS, work()))) {
          late.push(name);
          await onLate?.().catch(() => undefined);
        }
      };
      const workers = harness.workers;
      if (workers) await step('workers', () => workers.close(), () => Promise.all(workers.workers.map((w) => w.close(true))));
      await step('dependencies', () => closeDeps(deps));
      await step('redis keys', () => deleteKeysWithPrefix(prefix));
      await step('smtp server', () => smtp.close());
      await db.drop();
      if (late.length > 0) throw new Error(`harness close: ${late.join(', ')} did not finish within ${CLOSE_STEP_MS} ms`);
    },
  };
  if (options.workers !== false) await harness.startWorkers();
  return harness;
}

/** How long each step of closing a harness may take. */
const CLOSE_STEP_MS = 30_000;

/** True when `work` settles within `ms` (its rejection counts as settled). */
async function finishesWithin(ms: number, work: Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const done = work.then(() => true as const, () => true as const);
  try {
    return await Promise.race([done, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The path (and query) of an absolute link, for requests through supertest. */
export function linkPath(url: string): string {
  const parsed = new URL(url);
  return parsed.pathname + parsed.search;
}

/** Every http(s) link in a message's text part. */
export function linksIn(text: string | undefined): string[] {
  return [...new Set((text ?? '').match(/https?:\/\/[^\s<>"]+/g) ?? [])];
}

/** The first link of a kind ("confirm", "preferences", "unsubscribe") in a text. */
export function findLink(text: string | undefined, kind: string): string {
  const link = linksIn(text).find((l) => new URL(l).pathname.startsWith(`/${kind}/`));
  if (!link) throw new Error(`no /${kind}/ link in: ${text}`);
  return link;
}

/** Waits until `check` returns a truthy value. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 10_000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Environment for a Powiadom child process (a worker, the CLI) that shares this harness's database,
 * queue prefix, SMTP server and secrets; `extra` adds or overrides variables.
 */
export function childEnv(h: Harness, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_ENV: 'test',
    DATABASE_URL: h.config.DATABASE_URL,
    REDIS_URL: h.config.REDIS_URL,
    QUEUE_PREFIX: h.config.QUEUE_PREFIX,
    SMTP_URL: h.config.SMTP_URL,
    PUBLIC_URL: h.config.PUBLIC_URL,
    MAIL_FROM: h.config.MAIL_FROM,
    SECRET: h.config.SECRET,
    ...extra,
  };
}

/** True when the harness's e-mail queue has nothing waiting, running or delayed. */
export async function emailQueueIdle(h: Harness): Promise<boolean> {
  const counts = await h.deps.queues.email.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
  return Object.values(counts).every((n) => n === 0);
}

/** True while a process with this pid exists (signal 0 probes without signalling). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
