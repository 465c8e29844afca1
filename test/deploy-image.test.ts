import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { TEST_POSTGRES_URL } from './helpers/database.ts';
import { eventually } from './helpers/harness.ts';
import { deleteKeysWithPrefix, TEST_REDIS_URL } from './helpers/redis.ts';
import { freePort } from './helpers/throwaway-servers.ts';

// The image's start command from a clean production tree, without Docker: the runtime stage of the
// Dockerfile laid out in a temporary folder from its own COPY lines (dist/ compiled as the build stage does,
// node_modules from `npm ci --omit=dev` as the deps stage does), then its ENTRYPOINT run as `migrate`, then
// as `api`, which must answer /readyz, log its start-up summary and stop cleanly on SIGTERM, and as `worker`.
const run = promisify(execFile);
const dockerfile = readFileSync('Dockerfile', 'utf8');
const runtimeStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(runtimeStage)![1]!) as string[];
const SECRET = 'image-secret-0123456789-0123456789-0123456789';
// the deps stage's RUN line, command by command (`npm ci --omit=dev --omit=optional …`, the prune)
const depsStage = dockerfile.slice(dockerfile.indexOf(' AS deps'), dockerfile.indexOf('\nFROM ', dockerfile.indexOf(' AS deps')));
const depsCommands = /^RUN (.+)$/m.exec(depsStage.replace(/\\\n\s*/g, ''))![1]!.split('&&').map((c) => c.trim());
// Our own layers (production node_modules, dist/, templates/, SQL, package.json): 68.2 MB of files measured on
// 2026-12-02 (docs/deployment.md "Image size"); the budget leaves room for growth, not for a new heavy dependency.
const OWN_LAYERS_BUDGET_MB = 100;

/** Runs the deps stage's commands in `root` (npm from the local cache when it can; the cache itself is never cleaned). */
async function installProductionDependencies(root: string): Promise<void> {
  const env = { ...process.env, npm_config_prefer_offline: 'true', npm_config_loglevel: 'error' };
  for (const command of depsCommands.filter((c) => !c.startsWith('npm cache'))) {
    await run('sh', ['-c', command], { cwd: root, env, timeout: 300_000 });
  }
}

/** Bytes of the files at or under `file` (apparent sizes, as a tar layer holds them). */
function treeBytes(file: string): number {
  const stat = statSync(file);
  if (!stat.isDirectory()) return stat.isFile() ? stat.size : 0;
  return readdirSync(file).reduce((bytes, name) => bytes + treeBytes(path.join(file, name)), 0);
}

/** Copies what the runtime stage copies from the build context (COPY lines without --from). */
function copyContext(root: string): void {
  for (const match of runtimeStage.matchAll(/^COPY (?!--from)(.+) (\S+)$/gm)) {
    for (const source of match[1]!.split(' ')) cpSync(source, path.join(root, match[2]!), { recursive: true });
  }
}

/** Collects a child's output lines; resolves its exit code. */
function start(root: string, role: string, env: NodeJS.ProcessEnv): { child: ChildProcess; output: string[]; exited: Promise<number | null> } {
  assert.equal(entrypoint[0], 'node');
  const child = spawn(process.execPath, [...entrypoint.slice(1), role], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output, exited };
}

describe('production image tree', () => {
  let root: string;
  let api: ReturnType<typeof start> | undefined;
  let worker: ReturnType<typeof start> | undefined;
  let env: NodeJS.ProcessEnv = {};
  const database = `powiadom_test_image_${process.pid}_${randomBytes(3).toString('hex')}`;
  const prefix = `powiadom-test-image-${randomBytes(3).toString('hex')}`;

  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'powiadom-image-'));
    copyContext(root);
    copyFileSync('package-lock.json', path.join(root, 'package-lock.json'));
    // the two stages at once, as BuildKit runs them: the build stage's `npm run build` (tsc -p
    // tsconfig.build.json) into the tree's dist/, and the deps stage's production dependencies from the lock file
    await Promise.all([
      run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json', '--outDir', path.join(root, 'dist')], { timeout: 300_000 }),
      installProductionDependencies(root),
    ]);
  });

  after(async () => {
    for (const proc of [api, worker]) if (proc && proc.child.exitCode === null) proc.child.kill('SIGKILL');
    const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(database)} WITH (FORCE)`).finally(() => admin.end());
    await deleteKeysWithPrefix(prefix);
    rmSync(root, { recursive: true, force: true });
  });

  it('holds production dependencies only, and no TypeScript sources', () => {
    assert.match(depsCommands[0]!, /^npm ci --omit=dev --omit=optional /);
    const pruned = readdirSync(path.join(root, 'node_modules'), { recursive: true, encoding: 'utf8' }).filter((f) => /\.(map|d\.[cm]?ts)$/.test(f));
    assert.deepEqual(pruned, [], 'no source maps or type declarations');
    // tsx (and its esbuild) and TypeScript (an optional peer of Bull Board's valibot and of mjml's cosmiconfig)
    // are build tools: production runs dist/
    for (const dev of ['eslint', 'supertest', 'smtp-server', 'fast-check', 'tsx', 'esbuild', '@esbuild', 'typescript']) assert.ok(!existsSync(path.join(root, 'node_modules', dev)), dev);
    assert.ok(existsSync(path.join(root, 'dist/workers/run-role.js')));
    assert.ok(existsSync(path.join(root, 'src/db/migrations')));
    assert.ok(!existsSync(path.join(root, 'src/main.ts')));
  });

  it(`keeps our own layers under ${OWN_LAYERS_BUDGET_MB} MB`, () => {
    const parts = Object.fromEntries(readdirSync(root).filter((name) => name !== 'package-lock.json').map((name) => [name, Math.round(treeBytes(path.join(root, name)) / 1e5) / 10]));
    const total = Object.values(parts).reduce((a, b) => a + b, 0);
    console.log(`image tree (MB, before .env and outbox): ${JSON.stringify(parts)}, total ${total.toFixed(1)}`);
    assert.ok(total < OWN_LAYERS_BUDGET_MB, `${total.toFixed(1)} MB: ${JSON.stringify(parts)}`);
  });

  it('migrates with the migrate role, then serves /readyz with the api role and stops on SIGTERM', async () => {
    const url = new URL(TEST_POSTGRES_URL);
    url.pathname = `/${database}`;
    const port = await freePort();
    // SECRET and PUBLIC_URL come from .env as an operator would write it; the real environment wins (PORT).
    writeFileSync(path.join(root, '.env'), `SECRET=${SECRET}\nPUBLIC_URL=https://powiadom.example.test\nPORT=1\n`);
    mkdirSync(path.join(root, 'outbox'), { recursive: true });
    env = { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', PORT: String(port), DATABASE_URL: url.toString(), REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, OUTBOX_DIR: path.join(root, 'outbox'), SHUTDOWN_GRACE_MS: '60000' };

    const migrate = start(root, 'migrate', env);
    const migrated = await Promise.race([migrate.exited, new Promise<'late'>((r) => setTimeout(() => r('late'), 90_000).unref())]);
    assert.equal(migrated, 0, migrate.output.join(''));
    assert.match(migrate.output.join(''), /Created the database\.[\s\S]*Applied: 0001_subscribers/);

    api = start(root, 'api', env);
    const ready = await eventually(async () => {
      if (api!.child.exitCode !== null) throw new Error(`api exited: ${api!.output.join('')}`);
      return fetch(`http://127.0.0.1:${port}/readyz`).then((r) => (r.ok ? r.json() : undefined), () => undefined);
    }, 90_000, '/readyz 200');
    assert.deepEqual(ready, { status: 'ok', postgres: 'ok', redis: 'ok' });

    const lines = api.output.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const summary = lines.filter((l) => l.startup !== undefined);
    assert.equal(summary.length, 1, 'one start-up summary line');
    assert.deepEqual(summary[0]!.startup, { roles: ['api'], nodeEnv: 'production', publicUrl: 'https://powiadom.example.test', mail: `outbox:${path.join(root, 'outbox')}`, outbox: true, admin: 'disabled: ADMIN_TOKEN is not set', feeds: [] });
    assert.ok(lines.some((l) => l.level === 40 && String(l.msg).startsWith('ADMIN_TOKEN is not set')));
    assert.ok(!JSON.stringify(lines).includes(SECRET), 'the secret is never logged');

    // the image's HEALTHCHECK command, as Docker runs it
    const health = await run(process.execPath, ['deploy/healthcheck.mjs', 'api'], { cwd: root, env: { ...env, PORT: String(port) }, timeout: 30_000 });
    assert.equal(health.stderr, '');

    api.child.kill('SIGTERM');
    const code = await Promise.race([api.exited, new Promise<'late'>((r) => setTimeout(() => r('late'), 90_000).unref())]);
    assert.equal(code, 0, api.output.join(''));
  });

  it('runs the worker role with its sender thread, serves its /metrics and stops on SIGTERM', async () => {
    const metricsPort = await freePort();
    const token = 'image-metrics-token-0123456789';
    worker = start(root, 'worker', { ...env, METRICS_PORT: String(metricsPort), METRICS_TOKEN: token, SENDER_THREADS: '1' });
    await eventually(() => {
      if (worker!.child.exitCode !== null) throw new Error(`worker exited: ${worker!.output.join('')}`);
      return worker!.output.join('').includes('sender thread started');
    }, 90_000, 'the worker and its sender thread started');
    const lines = worker.output.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines.filter((l) => l.startup !== undefined).map((l) => (l.startup as { roles: string[] }).roles), [['worker']]);
    assert.ok(lines.some((l) => l.level === 40 && String(l.msg).startsWith('SMTP_URL is not set in production')));
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /powiadom_queue_jobs/);

    // a generous grace period (SHUTDOWN_GRACE_MS above): on a machine loaded 20-fold a worker's stop took
    // longer than the default 10 s once
    worker.child.kill('SIGTERM');
    const code = await Promise.race([worker.exited, new Promise<'late'>((r) => setTimeout(() => r('late'), 90_000).unref())]);
    assert.equal(code, 0, worker.output.join(''));
  });
});
