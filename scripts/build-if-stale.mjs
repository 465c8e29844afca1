// `npm start`: compiles src/ and workers/ to dist/ only when a TypeScript source or a tsconfig is newer than
// the last build (dist/workers/run-role.js, rewritten by every build), so a second start skips the 5–20 s
// compile. Templates, SQL queries and migrations are read at run time from their folders: no build needed.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const BUILD_OUTPUT = 'dist/workers/run-role.js';

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(full));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

function builtAt() {
  try {
    return statSync(BUILD_OUTPUT).mtimeMs;
  } catch {
    return 0;
  }
}

const inputs = Math.max(newestSource('src'), newestSource('workers'), ...['tsconfig.json', 'tsconfig.build.json', 'package.json'].map((f) => statSync(f).mtimeMs));
if (inputs > builtAt()) {
  console.error('Compiling to dist/ (a source changed since the last build)…');
  const result = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
