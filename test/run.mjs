// Runs every test/**/*.test.ts with node's test runner (tsx loader), several files at once.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

function findTests(dir) {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return name === 'helpers' ? [] : findTests(full);
    return name.endsWith('.test.ts') ? [full] : [];
  });
}

const only = process.argv.slice(2);
const files = only.length > 0 ? only : findTests('test').sort();
const concurrency = process.env.TEST_CONCURRENCY ?? '3';
// --test-timeout bounds each file (the runner runs each as one test): 10 min, because a heavy browser or CLI file
// takes 3–5 min on a loaded 2-core machine; it guards against a hang, not a slow machine.
// --test-force-exit: a file whose tests and hooks are done ends even if it leaked a handle (a server or
// socket a failed test never closed) instead of holding the whole run until the watchdog below.
const child = spawn(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=600000', '--test-force-exit', ...files], {
  stdio: 'inherit',
  // its own process group: stopping the run stops every test file's process with it
  detached: true,
});
const stopAll = (signal) => {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
};
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => stopAll(signal));
// The whole suite takes a few minutes; past this something hangs (node's --test-timeout does not bound
// after() hooks). Stop it so CI reports the failure instead of running into its own limit.
const suiteLimitMs = Number(process.env.TEST_SUITE_TIMEOUT_MS ?? 25 * 60_000);
const watchdog = setTimeout(() => {
  console.error(`\n✖ the test run exceeded ${suiteLimitMs / 60_000} minutes: stopping it (TEST_SUITE_TIMEOUT_MS)`);
  stopAll('SIGTERM');
  setTimeout(() => stopAll('SIGKILL'), 10_000).unref();
}, suiteLimitMs);
child.on('exit', (code, signal) => {
  clearTimeout(watchdog);
  process.exit(code ?? (signal ? 1 : 0));
});
