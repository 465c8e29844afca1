import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { TEST_POSTGRES_URL } from './helpers/database.ts';
import { buildDistrolessRoot, changedPaths, chownTree, commandInRoot, DISTROLESS_ENV, mountProcAndDev, programsIn, removeDeadRunsFolders, removeRootFolder, ROOT_FOLDER_PREFIX, snapshot, treeBytes } from './helpers/distroless-root.ts';
import { eventually } from './helpers/harness.ts';
import { deleteKeysWithPrefix, TEST_REDIS_URL } from './helpers/redis.ts';
import { freePort } from './helpers/throwaway-servers.ts';

// The production image without Docker. Its runtime stage is built as a root filesystem: the Debian 12 packages
// of its distroless base unpacked (helpers/distroless-root.ts), then the Dockerfile's own COPY lines applied —
// dist/ compiled as the build stage does, node_modules from the deps stage's own commands, and the node binary
// running this test in place of the Node.js image's. Its ENTRYPOINT then runs inside that root, as the image's
// USER, in its WORKDIR, with its ENV, /proc and /dev: as `migrate`, as `api` (/readyz, start-up summary,
// HEALTHCHECK, SIGTERM) and as `worker` (sender thread, /metrics, an e-mail into the outbox). It also weighs
// the image, file by file.
const run = promisify(execFile);
const dockerfile = readFileSync('Dockerfile', 'utf8');
const runtimeStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM ')).replace(/\\\n\s*/g, ' ');
const instruction = (keyword: string) => new RegExp(`^${keyword} (.+)$`, 'm').exec(runtimeStage)?.[1]?.trim() ?? assert.fail(`no ${keyword} in the runtime stage`);
const entrypoint = JSON.parse(instruction('ENTRYPOINT')) as string[];
const healthcheck = JSON.parse(/CMD (\[.*\])$/.exec(instruction('HEALTHCHECK'))![1]!) as string[];
const workdir = instruction('WORKDIR');
const [uid, gid] = instruction('USER').split(':').map(Number) as [number, number];
const imageEnv = Object.fromEntries(instruction('ENV').split(/\s+/).map((pair) => pair.split('=') as [string, string]));
/** The container's environment before `docker run -e`: the base image's, then the Dockerfile's ENV. */
const containerEnv = { ...DISTROLESS_ENV, ...imageEnv };
const SECRET = 'image-secret-0123456789-0123456789-0123456789';
// the deps stage's RUN line, command by command (`npm ci --omit=dev --omit=optional …`, the prune)
const depsStage = dockerfile.slice(dockerfile.indexOf(' AS deps'), dockerfile.indexOf('\nFROM ', dockerfile.indexOf(' AS deps')));
const depsCommands = /^RUN (.+)$/m.exec(depsStage.replace(/\\\n\s*/g, ''))![1]!.split('&&').map((c) => c.trim());
// Our own layers (production node_modules, dist/, templates/, SQL, package.json): 70.9 MB of files measured on
// 2026-12-02 (docs/deployment.md "Image size"); the budget leaves room for growth, not for a new heavy dependency.
const OWN_LAYERS_BUDGET_MB = 100;
// The node binary of Node.js 24 (24.22.3 linux-x64, the official build that node:24-bookworm-slim holds), in
// bytes: the image is weighed with it whichever Node.js runs this test (CI runs it on Node.js 20, then 24).
const NODE_24_BINARY_BYTES = 126_891_984;
const IMAGE_BUDGET_MB = 250;

const megabytes = (bytes: number) => Math.round(bytes / 1e5) / 10;

/** Runs the deps stage's commands in `folder` (npm from the local cache when it can; the cache itself is never cleaned). */
async function installProductionDependencies(folder: string): Promise<void> {
  const env = { ...process.env, npm_config_prefer_offline: 'true', npm_config_loglevel: 'error' };
  for (const command of depsCommands.filter((c) => !c.startsWith('npm cache'))) {
    await run('sh', ['-c', command], { cwd: folder, env, timeout: 300_000 });
  }
}

/** Where this test made what the runtime stage copies from another stage (`COPY --from=<stage> <source>`). */
function stageOutput(work: string, stage: string, source: string): string {
  const outputs: Record<string, string> = {
    'deps /app/node_modules': path.join(work, 'deps/node_modules'),
    'build /app/dist': path.join(work, 'dist'),
    'build /app/outbox': path.join(work, 'outbox'),
    // Node.js 24's binary in the image; here the binary running this test stands in for it
    'build /usr/local/bin/node': process.execPath,
  };
  return outputs[`${stage} ${source}`] ?? assert.fail(`the test does not know what COPY --from=${stage} ${source} copies`);
}

/** Applies the runtime stage's WORKDIR and COPY lines to `root`: sources from the build context or the stages. */
function layOutRuntime(root: string, work: string): void {
  mkdirSync(path.join(root, workdir), { recursive: true });
  for (const [, stage, owner, sources, target] of runtimeStage.matchAll(/^COPY (?:--from=(\S+) )?(?:--chown=(\d+:\d+) )?(.+) (\S+)$/gm)) {
    const destination = path.join(root, path.posix.resolve(workdir, target!));
    for (const source of sources!.split(' ')) {
      mkdirSync(path.dirname(destination), { recursive: true });
      cpSync(stage ? stageOutput(work, stage, source) : source, destination, { recursive: true, verbatimSymlinks: true });
      if (owner) chownTree(destination, ...(owner.split(':').map(Number) as [number, number]));
    }
  }
}

/** Bytes of the image's files: the base's (Debian), the node binary, and ours (WORKDIR's entries). */
function weigh(root: string): { debian: number; node: number; own: Record<string, number> } {
  const app = path.join(root, workdir);
  const own = Object.fromEntries(readdirSync(app).map((name) => [name, treeBytes(path.join(app, name))]));
  const node = lstatSync(path.join(root, entrypoint[0]!)).size;
  return { debian: treeBytes(root) - node - Object.values(own).reduce((a, b) => a + b, 0), node, own };
}

/** Runs `argv` in the image's root as the container would run it. */
function commandInImage(root: string, argv: string[]): [string, string[]] {
  return commandInRoot(root, { uid, gid, workdir }, argv);
}

/** Starts the ENTRYPOINT with `role` in the root; collects its output lines; resolves its exit code. */
function start(root: string, role: string, env: NodeJS.ProcessEnv): { child: ChildProcess; output: string[]; exited: Promise<number | null> } {
  const [command, args] = commandInImage(root, [...entrypoint, role]);
  const child = spawn(command, args, { env: { ...containerEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', (err) => {
      output.push(String(err));
      resolve(null);
    });
  });
  return { child, output, exited };
}

/** Resolves the exit code, or 'late' after 90 s. */
function exitOf(proc: ReturnType<typeof start>): Promise<number | null | 'late'> {
  return Promise.race([proc.exited, new Promise<'late'>((r) => setTimeout(() => r('late'), 90_000).unref())]);
}

describe('production image, run in its distroless root', () => {
  let work: string | undefined;
  let root: string;
  let sizes: ReturnType<typeof weigh>;
  let pristine: Map<string, string>;
  let api: ReturnType<typeof start> | undefined;
  let worker: ReturnType<typeof start> | undefined;
  let env: NodeJS.ProcessEnv = {};
  const database = `powiadom_test_image_${process.pid}_${randomBytes(3).toString('hex')}`;
  const prefix = `powiadom-test-image-${randomBytes(3).toString('hex')}`;
  const outbox = () => path.join(root, imageEnv.OUTBOX_DIR!);

  before(async () => {
    assert.equal(process.getuid?.(), 0, 'run as root (as CI does): the test unpacks Debian packages with their owners, mounts /proc and /dev into the root and changes user');
    await removeDeadRunsFolders();
    work = mkdtempSync(path.join(tmpdir(), `${ROOT_FOLDER_PREFIX}${process.pid}-`));
    root = path.join(work, 'root');
    for (const dir of ['deps', 'outbox']) mkdirSync(path.join(work, dir));
    for (const file of ['package.json', 'package-lock.json']) copyFileSync(file, path.join(work, 'deps', file));
    // the stages at once, as BuildKit runs them: the build stage's `npm run build` (tsc -p tsconfig.build.json),
    // the deps stage's production dependencies from the lock file, and the runtime's base image
    await Promise.all([
      run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json', '--outDir', path.join(work, 'dist')], { timeout: 300_000 }),
      installProductionDependencies(path.join(work, 'deps')),
      buildDistrolessRoot(root),
    ]);
    layOutRuntime(root, work);
    sizes = weigh(root);
    // What a container gets at its start, not in the image: /etc/hosts, /etc/resolv.conf, /proc and /dev;
    // and an operator's .env (SECRET and PUBLIC_URL; the real environment wins: PORT).
    for (const file of ['hosts', 'resolv.conf']) if (existsSync(`/etc/${file}`)) copyFileSync(`/etc/${file}`, path.join(root, 'etc', file));
    writeFileSync(path.join(root, workdir, '.env'), `SECRET=${SECRET}\nPUBLIC_URL=https://powiadom.example.test\nPORT=1\n`);
    await mountProcAndDev(root);
    pristine = snapshot(root, ['proc', 'dev']);
  });

  after(async () => {
    for (const proc of [api, worker]) if (proc && proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
    await Promise.all([api?.exited, worker?.exited]);
    const dropDatabase = async () => {
      const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(database)} WITH (FORCE)`).finally(() => admin.end());
    };
    const results = await Promise.allSettled([dropDatabase(), deleteKeysWithPrefix(prefix), work ? removeRootFolder(work) : undefined]);
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failures.length > 0) throw new AggregateError(failures, 'clean-up failed');
  });

  it('holds production dependencies only, and no TypeScript sources', () => {
    const app = path.join(root, workdir);
    assert.match(depsCommands[0]!, /^npm ci --omit=dev --omit=optional /);
    const pruned = readdirSync(path.join(app, 'node_modules'), { recursive: true, encoding: 'utf8' }).filter((f) => /\.(map|d\.[cm]?ts)$/.test(f));
    assert.deepEqual(pruned, [], 'no source maps or type declarations');
    // tsx (and its esbuild) and TypeScript (an optional peer of Bull Board's valibot and of mjml's cosmiconfig)
    // are build tools: production runs dist/
    for (const dev of ['eslint', 'supertest', 'smtp-server', 'fast-check', 'tsx', 'esbuild', '@esbuild', 'typescript']) assert.ok(!existsSync(path.join(app, 'node_modules', dev)), dev);
    assert.ok(existsSync(path.join(root, entrypoint[1]!)), entrypoint[1]);
    assert.ok(existsSync(path.join(app, 'src/db/migrations')));
    assert.ok(!existsSync(path.join(app, 'src/main.ts')));
    assert.ok(!existsSync(path.join(app, 'package-lock.json')));
  });

  it('has no shell: node is its only program, the code is root\'s and only the outbox belongs to the user', () => {
    for (const shell of ['bin/sh', 'usr/bin/sh', 'bin/bash', 'usr/bin/bash', 'bin/dash', 'usr/bin/dash', 'busybox/sh']) assert.ok(!existsSync(path.join(root, shell)), shell);
    assert.deepEqual(programsIn(root), [entrypoint[0]!.slice(1)]);
    const app = path.join(root, workdir);
    const usersFiles = ['.', ...readdirSync(app, { recursive: true, encoding: 'utf8' })].filter((f) => lstatSync(path.join(app, f)).uid !== 0);
    assert.deepEqual(usersFiles, [path.relative(workdir, imageEnv.OUTBOX_DIR!)]);
    assert.equal(lstatSync(outbox()).gid, gid);
  });

  it(`keeps our own layers under ${OWN_LAYERS_BUDGET_MB} MB`, () => {
    const parts = Object.fromEntries(Object.entries(sizes.own).map(([name, bytes]) => [name, megabytes(bytes)]));
    const total = megabytes(Object.values(sizes.own).reduce((a, b) => a + b, 0));
    console.log(`image tree (MB, before .env and e-mails): ${JSON.stringify(parts)}, total ${total.toFixed(1)}`);
    assert.ok(total < OWN_LAYERS_BUDGET_MB, `${total.toFixed(1)} MB: ${JSON.stringify(parts)}`);
  });

  it(`weighs under ${IMAGE_BUDGET_MB} MB with Node.js 24's node: the distroless base's packages, node, our layers`, () => {
    const own = Object.values(sizes.own).reduce((a, b) => a + b, 0);
    const total = sizes.debian + NODE_24_BINARY_BYTES + own;
    console.log(`image size (MB of files): distroless cc-debian12's Debian packages ${megabytes(sizes.debian)}, node ${megabytes(NODE_24_BINARY_BYTES)} (Node.js 24), our layers ${megabytes(own)}, total ${megabytes(total)}`);
    console.log(`image size with the node running this test (${process.version}, ${megabytes(sizes.node)} MB): total ${megabytes(sizes.debian + sizes.node + own)}`);
    assert.ok(total < IMAGE_BUDGET_MB * 1e6, `${megabytes(total)} MB`);
  });

  it('migrates with the migrate role, then serves /readyz with the api role as the image\'s user and stops on SIGTERM', async () => {
    const url = new URL(TEST_POSTGRES_URL);
    url.pathname = `/${database}`;
    const port = await freePort();
    env = { PORT: String(port), DATABASE_URL: url.toString(), REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, SHUTDOWN_GRACE_MS: '60000' };

    const migrate = start(root, 'migrate', env);
    assert.equal(await exitOf(migrate), 0, migrate.output.join(''));
    assert.match(migrate.output.join(''), /Created the database\.[\s\S]*Applied: 0001_subscribers/);

    api = start(root, 'api', env);
    const ready = await eventually(async () => {
      if (api!.child.exitCode !== null) throw new Error(`api exited: ${api!.output.join('')}`);
      return fetch(`http://127.0.0.1:${port}/readyz`).then((r) => (r.ok ? r.json() : undefined), () => undefined);
    }, 150_000, '/readyz 200');
    assert.deepEqual(ready, { status: 'ok', postgres: 'ok', redis: 'ok' });

    // the process is node itself, in the root and WORKDIR, as USER with no other group
    const pid = api.child.pid!;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    assert.match(status, new RegExp(`^Uid:\\t${uid}\\t${uid}\\t${uid}\\t${uid}$`, 'm'));
    assert.match(status, new RegExp(`^Gid:\\t${gid}\\t${gid}\\t${gid}\\t${gid}$`, 'm'));
    assert.match(status, /^Groups:\s*$/m);
    assert.equal(readlinkSync(`/proc/${pid}/root`), root);
    assert.equal(readlinkSync(`/proc/${pid}/cwd`), path.join(root, workdir));
    assert.equal(readlinkSync(`/proc/${pid}/exe`), path.join(root, entrypoint[0]!));

    const lines = api.output.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const summary = lines.filter((l) => l.startup !== undefined);
    assert.equal(summary.length, 1, 'one start-up summary line');
    assert.deepEqual(summary[0]!.startup, { roles: ['api'], nodeEnv: 'production', publicUrl: 'https://powiadom.example.test', mail: `outbox:${imageEnv.OUTBOX_DIR}`, outbox: true, admin: 'disabled: ADMIN_TOKEN is not set', feeds: [] });
    assert.ok(lines.some((l) => l.level === 40 && String(l.msg).startsWith('ADMIN_TOKEN is not set')));
    assert.ok(!JSON.stringify(lines).includes(SECRET), 'the secret is never logged');

    // the image's HEALTHCHECK command, as Docker runs it (in the container, as its user); the role is given
    // because PID 1 here is the machine's, not the container's
    const [command, args] = commandInImage(root, [...healthcheck, 'api']);
    const health = await run(command, args, { env: { ...containerEnv, ...env }, timeout: 30_000 });
    assert.equal(health.stderr, '');

    api.child.kill('SIGTERM');
    assert.equal(await exitOf(api), 0, api.output.join(''));
  });

  it('runs the worker role with its sender thread, serves its /metrics, writes an e-mail into the outbox and stops on SIGTERM', async () => {
    const metricsPort = await freePort();
    const token = 'image-metrics-token-0123456789';
    // the canary e-mail, every 2 s from the start (BullMQ's first run of a schedule waits one interval);
    // without SMTP_URL each is a file in the outbox
    const canary = { CANARY_EMAIL: 'canary@powiadom.example.test', CANARY_INTERVAL_MS: '2000' };
    worker = start(root, 'worker', { ...env, METRICS_PORT: String(metricsPort), METRICS_TOKEN: token, SENDER_THREADS: '1', ...canary });
    await eventually(() => {
      if (worker!.child.exitCode !== null) throw new Error(`worker exited: ${worker!.output.join('')}`);
      return worker!.output.join('').includes('sender thread started');
    }, 150_000, 'the worker and its sender thread started');
    const lines = worker.output.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines.filter((l) => l.startup !== undefined).map((l) => (l.startup as { roles: string[] }).roles), [['worker']]);
    assert.ok(lines.some((l) => l.level === 40 && String(l.msg).startsWith('SMTP_URL is not set in production')));
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /powiadom_queue_jobs/);

    const eml = await eventually(() => readdirSync(outbox()).find((f) => f.endsWith('.eml')), 90_000, 'the canary e-mail in the outbox');
    assert.equal(lstatSync(path.join(outbox(), eml)).uid, uid, 'written by the image\'s user');
    assert.match(readFileSync(path.join(outbox(), eml), 'utf8'), /^To: canary@powiadom\.example\.test\r?$/m);

    // a generous grace period (SHUTDOWN_GRACE_MS above): on a machine loaded 20-fold a worker's stop took
    // longer than the default 10 s once
    worker.child.kill('SIGTERM');
    assert.equal(await exitOf(worker), 0, worker.output.join(''));
  });

  it('wrote nowhere but its outbox', () => {
    const outboxPath = path.relative(root, outbox());
    const changed = changedPaths(pristine, snapshot(root, ['proc', 'dev']));
    assert.deepEqual(changed.filter((p) => p !== outboxPath && !p.startsWith(`${outboxPath}/`)), []);
    assert.ok(changed.some((p) => p.startsWith(`${outboxPath}/`)), 'the e-mail is there');
  });
});
