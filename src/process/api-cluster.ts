import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../log.ts';
import { addMetricsSource, type MetricsJson } from '../metrics/metrics.ts';
import { answer, answerMetricsRequests, ask, clusterWorkerChannel, parentProcessChannel, requestMetrics } from '../metrics/metrics-ipc.ts';

/** Asked by the API process answering a scrape: the counters and histograms of every other API process. */
const SIBLING_METRICS = 'powiadom:sibling-metrics';
/** More unexpected exits than this within a minute: something is broken, stop instead of restarting forever. */
const MAX_RESTARTS_PER_MINUTE = 5;
/** Past the API processes' own grace period: how long the primary still waits before killing them. */
const KILL_AFTER_GRACE_MS = 2_000;

function liveWorkers(): Worker[] {
  return Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead());
}

async function siblingMetrics(asker: Worker): Promise<MetricsJson[]> {
  const others = liveWorkers().filter((w) => w !== asker);
  const answers = await Promise.all(others.map((w) => requestMetrics(clusterWorkerChannel(w))));
  return answers.filter((m): m is MetricsJson => m !== null);
}

/**
 * The primary of `npm run start:api` with API_PROCESSES > 1 (node:cluster): forks the API processes,
 * which share PORT; replaces one that exits unexpectedly (at most MAX_RESTARTS_PER_MINUTE, then stops
 * with status 1); lets each answer /metrics for all; on SIGTERM/SIGINT stops them all and exits.
 */
export function runApiCluster(log: Logger, processes: number, graceMs: number): void {
  const primary: ClusterPrimary = { log, graceMs, stopping: false, exitCode: 0, exits: [] };
  cluster.on('exit', (worker, code, signal) => onApiProcessExit(primary, worker, code, signal));
  process.once('SIGTERM', () => stopApiProcesses(primary, 'SIGTERM', 0));
  process.once('SIGINT', () => stopApiProcesses(primary, 'SIGINT', 0));
  for (let i = 0; i < processes; i++) forkApiProcess();
  log.info({ processes }, 'API processes started');
}

/** The primary's state: whether it is stopping, with which status, and the recent unexpected exits. */
interface ClusterPrimary {
  log: Logger;
  graceMs: number;
  stopping: boolean;
  exitCode: number;
  /** times of the unexpected exits of the last minute */
  exits: number[];
}

function forkApiProcess(): void {
  const worker = cluster.fork();
  answer(clusterWorkerChannel(worker), SIBLING_METRICS, () => siblingMetrics(worker));
}

/** SIGTERM to every API process, SIGKILL past their grace period; exits once none is left. */
function stopApiProcesses(primary: ClusterPrimary, reason: string, code: number): void {
  if (primary.stopping) return;
  primary.stopping = true;
  primary.exitCode = code;
  primary.log.info({ reason, processes: liveWorkers().length }, 'stopping the API processes');
  for (const worker of liveWorkers()) worker.process.kill('SIGTERM');
  const kill = setTimeout(() => {
    primary.log.error('API processes still running after their grace period: killing them');
    for (const worker of liveWorkers()) worker.process.kill('SIGKILL');
    process.exit(1);
  }, primary.graceMs + KILL_AFTER_GRACE_MS);
  kill.unref();
  if (liveWorkers().length === 0) process.exit(primary.exitCode);
}

/** While stopping: exits once the last one is gone. Otherwise replaces it, or stops when they keep exiting. */
function onApiProcessExit(primary: ClusterPrimary, worker: Worker, code: number, signal: string): void {
  if (primary.stopping) {
    if (code !== 0) primary.exitCode = 1;
    if (liveWorkers().length === 0) process.exit(primary.exitCode);
    return;
  }
  const now = Date.now();
  primary.exits.push(now);
  while (primary.exits[0]! < now - 60_000) primary.exits.shift();
  primary.log.error({ workerPid: worker.process.pid, code, signal }, 'an API process exited unexpectedly');
  if (primary.exits.length > MAX_RESTARTS_PER_MINUTE) stopApiProcesses(primary, 'API processes keep exiting', 1);
  else forkApiProcess();
}

/** In an API process of the cluster: answers the primary's requests for metrics and adds the siblings' to /metrics. */
export function joinApiCluster(): void {
  const primary = parentProcessChannel();
  answerMetricsRequests(primary);
  addMetricsSource(async () => (await ask<MetricsJson[]>(primary, SIBLING_METRICS)) ?? []);
}
