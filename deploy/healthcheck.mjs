/* global fetch, AbortSignal */
// The image's HEALTHCHECK: `/usr/local/bin/node /app/deploy/healthcheck.mjs` exits 0 when this container's
// Powiadom is healthy (the image has no shell and no curl: node asks). One image plays every role, so it reads
// the role from PID 1's command line (/usr/local/bin/node /app/dist/workers/run-role.js <role>): api and all
// must answer GET /readyz (PostgreSQL and Redis reachable) on PORT within 4 s; a worker or a one-shot (migrate,
// cli) counts as healthy while it runs (workers are watched by PowiadomNoWorker).
import { readFileSync } from 'node:fs';

function roleOfPid1() {
  try {
    const args = readFileSync('/proc/1/cmdline', 'utf8').split('\0');
    const entry = args.findIndex((a) => a.endsWith('run-role.js'));
    return entry >= 0 ? (args[entry + 1] ?? 'all') : 'all';
  } catch {
    return 'all';
  }
}

const role = process.argv[2] ?? roleOfPid1();
if (role !== 'api' && role !== 'all') process.exit(0);
const port = process.env.PORT ?? '3000';
try {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(4000) });
  if (!res.ok) console.error(`/readyz answered ${res.status}: ${await res.text()}`);
  process.exit(res.ok ? 0 : 1);
} catch (err) {
  console.error(`/readyz did not answer: ${err.message}`);
  process.exit(1);
}
