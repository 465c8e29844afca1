/**
 * One entry point for every process role, so one image (or one install) serves them all:
 * `node dist/workers/run-role.js api|worker|all|migrate`, and `cli <command…>` for the operators' CLI. The Dockerfile's ENTRYPOINT and the systemd
 * units start this file; node stays PID 1 and handles SIGTERM/SIGINT itself (no npm in between).
 */
const ROLES = ['api', 'worker', 'all', 'migrate', 'cli'] as const;

/** The roles this entry point starts. */
export type Role = (typeof ROLES)[number];

async function run(role: Role): Promise<void> {
  if (role === 'api') await import('../src/main.ts');
  else if (role === 'migrate') await import('../src/db/migrate-cli.ts');
  else if (role === 'cli') {
    process.argv.splice(2, 1); // the CLI parses its command from argv[2] on
    await import('../src/cli/main.ts');
  }
  else {
    // workers/main.ts reads its role from argv, as `npm start` passes it
    if (role === 'all') process.argv.push('--role=all');
    await import('./main.ts');
  }
}

const role = process.argv[2] ?? 'all';
if (!(ROLES as readonly string[]).includes(role)) {
  console.error(`Unknown role "${role}": use one of ${ROLES.join(', ')}`);
  process.exit(2);
}
await run(role as Role);
