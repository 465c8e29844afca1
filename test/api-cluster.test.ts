import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { importSubscribers } from '../src/core/subscriber-import.ts';
import { ADMIN_TOKEN, childEnv, eventually, isProcessAlive, startHarness, type Harness } from './helpers/harness.ts';
import { freePort } from './helpers/throwaway-servers.ts';
import { metricSample } from './helpers/metrics.ts';

// `npm run start:api` with API_PROCESSES=2: a primary and two API processes sharing one port (node:cluster).
let h: Harness;
let primary: ChildProcess;
let port: number;
let output = '';

/** The JSON log lines so far. */
function logLines(): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function listeningPids(): number[] {
  return logLines().filter((l) => l.msg === 'API listening').map((l) => l.pid as number);
}

/** One GET on a new connection (no keep-alive): the primary hands each connection to the next process. */
function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

before(async () => {
  h = await startHarness({ label: 'apicluster', workers: false });
  port = await freePort();
  primary = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: childEnv(h, { PORT: String(port), API_PROCESSES: '2', ADMIN_TOKEN, LOG_LEVEL: 'info', SHUTDOWN_GRACE_MS: '5000' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  primary.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  primary.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  await eventually(() => listeningPids().length >= 2, 150_000, `two API processes listening (${output.slice(-2000)})`);
});

after(async () => {
  if (primary.exitCode === null && primary.signalCode === null) {
    const exited = new Promise((r) => primary.once('exit', r));
    primary.kill('SIGKILL');
    await exited;
  }
  for (const pid of listeningPids()) if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
  await h.close();
});

describe('API_PROCESSES=2', () => {
  it('serves from two processes sharing the port, and /metrics of either counts the requests of both', async () => {
    for (let i = 0; i < 40; i++) assert.equal((await get('/api/topics')).status, 200);
    await eventually(() => logLines().filter((l) => l.msg === 'request completed').length >= 40, 5_000, 'the request log lines');
    const servedBy = new Set(logLines().filter((l) => l.msg === 'request completed').map((l) => l.pid));
    assert.equal(servedBy.size, 2, 'both processes answered requests');
    await importSubscribers(h.deps.pool, ['a', 'b', 'c'].map((n) => ({ email: `${n}@example.pl`, topics: 'komunikaty' })));
    for (let scrape = 0; scrape < 4; scrape++) {
      const metrics = await get('/metrics', { Authorization: `Bearer ${ADMIN_TOKEN}` });
      assert.equal(metrics.status, 200);
      assert.equal(metricSample(metrics.body, 'powiadom_http_requests_total', { route: '/api/topics', status: '200' }), 40, `scrape ${scrape}`);
      // a global gauge read by the answering process, not summed with what its sibling read at its last scrape
      assert.equal(metricSample(metrics.body, 'powiadom_subscribers', { status: 'active' }), 3, `scrape ${scrape}`);
    }
  });

  it('replaces an API process that dies and keeps answering', async () => {
    const [victim] = listeningPids();
    process.kill(victim!, 'SIGKILL');
    await eventually(() => listeningPids().length >= 3, 60_000, 'a replacement API process');
    assert.ok(logLines().some((l) => l.msg === 'an API process exited unexpectedly' && l.workerPid === victim && l.signal === 'SIGKILL'));
    for (let i = 0; i < 6; i++) assert.equal((await get('/api/topics')).status, 200);
  });

  it('stops every API process on SIGTERM and exits 0 within the grace period', async () => {
    const alive = listeningPids().filter(isProcessAlive);
    assert.equal(alive.length, 2);
    const started = Date.now();
    const exited = new Promise<number | null>((r) => primary.once('exit', (code) => r(code)));
    primary.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.ok(Date.now() - started < 5_000 + 2_000, 'within SHUTDOWN_GRACE_MS');
    assert.deepEqual(alive.filter(isProcessAlive), [], 'no API process left behind');
    assert.equal(logLines().filter((l) => l.msg === 'stopped').length, 2, 'each API process stopped in order');
  });
});
