import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseEnv } from 'node:util';
import { validate as validateDockerfile } from 'dockerfile-utils';
import { parse as parseYaml } from 'yaml';
import { CONFIG_VARIABLES, parseConfig } from '../src/config.ts';

// The deployment files must agree with src/config.ts: the variable names come from its zod schema
// (CONFIG_VARIABLES = Object.keys(envSchema.shape)), never from a list kept here.

const ROLES = ['api', 'worker', 'all', 'migrate', 'cli'];
const read = (file: string) => readFileSync(file, 'utf8');
const envExample = read('.env.example');
const docs = ['README.md', ...(existsSync('docs') ? readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`) : [])].map(read).join('\n');
const COMPOSE_FILES = ['docker-compose.yml', 'compose.prod.yml'];

interface ComposeService {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  profiles?: string[];
  restart?: string;
  logging?: unknown;
  depends_on?: Record<string, { condition: string }>;
}
const composeOf = (file: string) => parseYaml(read(file), { merge: true }) as { services: Record<string, ComposeService> };
/** Services that run Powiadom itself: they are the ones given SECRET. */
const powiadomServices = (file: string) => Object.entries(composeOf(file).services).filter(([, s]) => s.environment && 'SECRET' in s.environment);

describe('configuration documented', () => {
  it('reads the variable names from the schema of src/config.ts', () => {
    assert.ok(CONFIG_VARIABLES.length >= 50, `only ${CONFIG_VARIABLES.length} variables found`);
    for (const name of ['NODE_ENV', 'SECRET', 'SMTP_URL', 'TRUST_PROXY', 'BRAND_PRIMARY_COLOR']) assert.ok(CONFIG_VARIABLES.includes(name), name);
  });

  it('.env.example names every variable of config.ts', () => {
    const missing = CONFIG_VARIABLES.filter((name) => !new RegExp(`^(# )?${name}=`, 'm').test(envExample));
    assert.deepEqual(missing, [], 'add these to .env.example (NAME=default, or # NAME=example when unset by default)');
  });

  it('the active lines of .env.example are the defaults', () => {
    const active = parseEnv(envExample) as Record<string, string>;
    const fromFile = parseConfig(active);
    const defaults = parseConfig({});
    for (const name of Object.keys(active).filter((n) => CONFIG_VARIABLES.includes(n))) {
      assert.deepEqual(fromFile[name as keyof typeof fromFile], defaults[name as keyof typeof defaults], `${name} in .env.example differs from its default`);
    }
  });

  it('.env.example names nothing else than config.ts variables and the compose files\' own, each documented', () => {
    const compose = COMPOSE_FILES.map(read).join('\n');
    const names = [...new Set([...envExample.matchAll(/^(?:# )?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!))];
    const stale = names.filter((name) => !CONFIG_VARIABLES.includes(name) && !compose.includes(`\${${name}`));
    assert.deepEqual(stale, [], 'neither read by config.ts nor interpolated by a compose file');
    const undocumented = names.filter((name) => !docs.includes(`\`${name}\``));
    assert.deepEqual(undocumented, [], 'document these (in backticks) in README.md or a docs/*.md file');
  });

  it('README.md or docs/*.md documents every variable of config.ts', () => {
    const missing = CONFIG_VARIABLES.filter((name) => !docs.includes(`\`${name}\``));
    assert.deepEqual(missing, [], 'document these (in backticks) in README.md or a docs/*.md file');
  });
});

describe('compose files', () => {
  for (const file of COMPOSE_FILES) {
    it(`${file} gives Powiadom only variables of config.ts`, () => {
      const services = powiadomServices(file);
      assert.ok(services.length >= 2, 'api and worker at least');
      for (const [name, service] of services) {
        const unknown = Object.keys(service.environment!).filter((v) => !CONFIG_VARIABLES.includes(v));
        assert.deepEqual(unknown, [], `${file} ${name}`);
      }
    });

    it(`${file} interpolates only variables named in .env.example, with no default secret`, () => {
      const text = read(file).replace(/\$\$/g, '');
      const names = [...text.matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1]!);
      assert.ok(names.includes('SECRET'));
      const unknown = [...new Set(names)].filter((v) => !new RegExp(`^(# )?${v}=`, 'm').test(envExample));
      assert.deepEqual(unknown, [], `${file}: add these to .env.example`);
      const defaultedSecrets = [...text.matchAll(/\$\{([A-Z0-9_]*(?:SECRET|TOKEN|PASSWORD|KEY)[A-Z0-9_]*):?-([^}]+)\}/g)].map((m) => m[0]);
      assert.deepEqual(defaultedSecrets, [], 'a secret must have no default');
      assert.match(text, /SECRET: \$\{SECRET:\?/, 'SECRET is required');
    });

    it(`${file} publishes ports on 127.0.0.1 unless told otherwise`, () => {
      for (const [name, service] of Object.entries(composeOf(file).services)) {
        for (const port of service.ports ?? []) assert.match(port, /^\$\{POWIADOM_BIND:-127\.0\.0\.1\}:/, `${file} ${name}: ${port}`);
      }
    });

    it(`${file} starts Powiadom with known roles and no npm`, () => {
      for (const [name, service] of powiadomServices(file)) {
        const command = (service.command ?? []).join(' ');
        if (file === 'compose.prod.yml') assert.ok(ROLES.includes(command), `${name}: ${command}`);
        else assert.match(command, /^node dist\//, `${name}: ${command}`);
      }
    });
  }

  it('compose.prod.yml runs the built image in production: migrate first, no mailpit, durable Redis and PostgreSQL', () => {
    const { services } = composeOf('compose.prod.yml');
    assert.equal(services.mailpit, undefined);
    for (const name of ['migrate', 'api', 'worker']) {
      assert.equal(services[name]!.image, '${POWIADOM_IMAGE:-powiadom:latest}');
      assert.equal(services[name]!.environment!.NODE_ENV, 'production');
      assert.ok(services[name]!.logging, `${name} rotates its logs`);
    }
    assert.deepEqual(services.migrate!.command, ['migrate']);
    assert.equal(services.migrate!.restart, 'no');
    for (const name of ['api', 'worker']) {
      assert.equal(services[name]!.depends_on!.migrate!.condition, 'service_completed_successfully');
      assert.equal(services[name]!.restart, 'unless-stopped');
    }
    const redis = services.redis!.command!.join(' ');
    assert.match(redis, /--appendonly yes/);
    assert.match(redis, /--maxmemory-policy noeviction/);
    assert.match(read('compose.prod.yml'), /postgres:\/var\/lib\/postgresql\/data/);
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

  it('runs node itself as a non-root user, one image for every role, with a /readyz health check', () => {
    assert.match(runtime, /^\nFROM \$\{RUNTIME_IMAGE\}$/m);
    assert.match(dockerfile, /^ARG NODE_IMAGE=node:24-bookworm-slim$/m);
    // distroless for the Debian of the Node.js image, whose node binary it runs (glibc of the same release)
    assert.match(dockerfile, /^ARG RUNTIME_IMAGE=gcr\.io\/distroless\/cc-debian12:nonroot$/m);
    // numeric: distroless's nonroot, and the same user on a base that has no such name (debian:bookworm-slim)
    assert.match(runtime, /^USER 65532:65532$/m);
    assert.match(runtime, /^ENTRYPOINT \["\/usr\/local\/bin\/node", "\/app\/dist\/workers\/run-role\.js"\]$/m);
    assert.match(runtime, /^CMD \["all"\]$/m);
    assert.match(runtime, /^HEALTHCHECK .*CMD \["\/usr\/local\/bin\/node", "\/app\/deploy\/healthcheck\.mjs"\]$/m);
    assert.match(read('deploy/healthcheck.mjs'), /\/readyz/);
    assert.doesNotMatch(runtime, /npm (start|run)/);
  });

  it('needs no shell in the runtime: no RUN or SHELL, node copied alone, the outbox made earlier and given to the user', () => {
    assert.doesNotMatch(runtime, /^(RUN|SHELL) /m);
    assert.match(runtime, /^COPY --from=build \/usr\/local\/bin\/node \/usr\/local\/bin\/node$/m);
    assert.match(runtime.replace(/\\\n\s*/g, ' '), /^ENV .*\bOUTBOX_DIR=\/app\/outbox$/m);
    assert.match(runtime, /^COPY --from=build --chown=65532:65532 \/app\/outbox \.\/outbox$/m);
    assert.match(dockerfile.slice(dockerfile.indexOf(' AS build'), dockerfile.indexOf(' AS deps')), /^RUN mkdir \/app\/outbox$/m);
  });

  it('copies into the runtime only paths that exist and that .dockerignore lets through', () => {
    const allowed = read('.dockerignore').split('\n').filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
    const copies = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(' '));
    assert.ok(copies.includes('templates'));
    for (const source of copies) {
      assert.ok(existsSync(source), `${source} exists`);
      assert.ok(allowed.some((a) => source === a || source.startsWith(`${a}/`)), `${source} is in the build context`);
    }
    assert.ok(!allowed.some((a) => a.startsWith('.env')), '.env never goes into the image');
  });
});

/** The Dockerfile's instructions: continuation lines joined, comments dropped; `stage` counts FROM lines. */
function dockerInstructions(text: string): { keyword: string; args: string; stage: number }[] {
  let stage = -1;
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((line) => line.trim() && !line.trimStart().startsWith('#'))
    .map((line) => {
      const [, keyword, args] = /^\s*(\S+)\s*(.*)$/.exec(line)!;
      if (keyword!.toUpperCase() === 'FROM') stage += 1;
      return { keyword: keyword!.toUpperCase(), args: args!, stage };
    });
}

// hadolint is neither on npm nor in Debian here; dockerfile-utils (the validator behind VS Code's Docker
// support) reports what the Docker builder would reject or ignore, and the tests below check the hadolint
// rules that apply to a Dockerfile like ours (rule ids as hadolint names them).
describe('Dockerfile lint', () => {
  const text = read('Dockerfile');
  const instructions = dockerInstructions(text);
  const runs = instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);

  it('passes dockerfile-utils validation without a diagnostic', () => {
    const diagnostics = validateDockerfile(text).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
    assert.deepEqual(diagnostics, []);
  });

  it('pins the base images (DL3006, DL3007) and names every stage it copies from (DL3022, DL3023)', () => {
    const base = /^ARG NODE_IMAGE=(\S+)$/m.exec(text)?.[1];
    assert.match(base ?? '', /^node:\d+-[a-z]+-slim$/, 'a tagged slim Node.js image, never :latest');
    const runtimeBase = /^ARG RUNTIME_IMAGE=(\S+)$/m.exec(text)?.[1];
    assert.match(runtimeBase ?? '', /^[\w./-]+:[\w.-]+$/, 'a tagged runtime image');
    assert.doesNotMatch(runtimeBase ?? '', /:latest$/, 'never :latest');
    const froms = instructions.filter((i) => i.keyword === 'FROM');
    const aliases = froms.map((f) => /\bAS (\S+)$/i.exec(f.args)?.[1]);
    for (const from of froms.slice(0, -1)) assert.match(from.args, /^\$\{NODE_IMAGE\} AS \S+$/, from.args);
    assert.match(froms.at(-1)!.args, /^\$\{RUNTIME_IMAGE\}( AS \S+)?$/);
    for (const copy of instructions.filter((i) => i.keyword === 'COPY' && i.args.startsWith('--from='))) {
      const source = /^--from=(\S+)/.exec(copy.args)![1]!;
      assert.ok(aliases.slice(0, copy.stage).includes(source), `COPY --from=${source} names an earlier stage`);
      assert.notEqual(aliases[copy.stage], source, 'a stage never copies from itself');
    }
  });

  it('uses JSON form for ENTRYPOINT, CMD and HEALTHCHECK (DL3025), COPY not ADD (DL3020), absolute WORKDIR (DL3000)', () => {
    for (const i of instructions.filter((x) => ['ENTRYPOINT', 'CMD'].includes(x.keyword))) assert.doesNotThrow(() => JSON.parse(i.args), `${i.keyword} ${i.args}`);
    const healthcheck = instructions.find((i) => i.keyword === 'HEALTHCHECK');
    assert.ok(healthcheck, 'a HEALTHCHECK (DL3057)');
    assert.doesNotThrow(() => JSON.parse(healthcheck.args.slice(healthcheck.args.indexOf('CMD ') + 4)));
    assert.equal(instructions.filter((i) => i.keyword === 'ADD').length, 0);
    for (const w of instructions.filter((i) => i.keyword === 'WORKDIR')) assert.match(w.args, /^\//);
  });

  it('runs as a non-root user (DL3002), without sudo (DL3004), cd (DL3003), pipes without pipefail (DL4006) or unpinned installs (DL3016, DL3008)', () => {
    const users = instructions.filter((i) => i.keyword === 'USER');
    assert.ok(users.length > 0 && !/^(root|0)(:|$)/.test(users.at(-1)!.args), 'the last USER is not root');
    // by number, uid and gid: a runtime needs no passwd entry, and Kubernetes' runAsNonRoot can check it
    assert.match(users.at(-1)!.args, /^[1-9]\d*:[1-9]\d*$/);
    for (const run of runs) {
      assert.doesNotMatch(run, /\bsudo\b|(^|&&|;)\s*cd\s|[^|]\|[^|]|\bapt(-get)? install|\bnpm (install|i)\b/, run);
      if (/\bnpm ci\b/.test(run)) assert.match(run, /--no-audit/, 'npm ci from the lock file, without the audit round trip');
    }
    assert.ok(runs.some((r) => /npm ci --omit=dev/.test(r) && /npm cache clean --force/.test(r)), 'the production install leaves no npm cache in its layer');
  });
});

describe('systemd units', () => {
  const dir = 'deploy/systemd';
  const units = ['powiadom-api.service', 'powiadom-worker@.service', 'powiadom-migrate.service'];

  it('start known roles with the env file, journald logging and hardening', () => {
    for (const unit of units) {
      const text = read(path.join(dir, unit));
      const role = /^ExecStart=\/usr\/bin\/node dist\/workers\/run-role\.js (\S+)$/m.exec(text)?.[1];
      assert.ok(role && ROLES.includes(role), `${unit}: ${role}`);
      for (const line of ['EnvironmentFile=/etc/powiadom/powiadom.env', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'PrivateTmp=yes', 'StandardOutput=journal', 'User=powiadom']) {
        assert.ok(text.includes(`\n${line}\n`), `${unit}: ${line}`);
      }
    }
    assert.match(read(path.join(dir, 'powiadom-worker@.service')), /^Environment=METRICS_PORT=%i$/m);
    const set = units.flatMap((unit) => [...read(path.join(dir, unit)).matchAll(/^Environment=([A-Z0-9_]+)=/gm)].map((m) => m[1]!));
    assert.deepEqual(set.filter((name) => !CONFIG_VARIABLES.includes(name)), [], 'the units set only variables of config.ts');
  });

  it('pass systemd-analyze verify without a warning', () => {
    const tmp = mkdtempSync(path.join(tmpdir(), 'powiadom-units-'));
    try {
      for (const unit of units) copyFileSync(path.join(dir, unit), path.join(tmp, unit));
      copyFileSync(path.join(dir, 'powiadom-worker@.service'), path.join(tmp, 'powiadom-worker@9464.service'));
      const files = ['powiadom-api.service', 'powiadom-worker@9464.service', 'powiadom-migrate.service'].map((u) => path.join(tmp, u));
      const result = spawnSync('systemd-analyze', ['verify', '--man=no', ...files], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(result.error, undefined, 'systemd-analyze runs (Debian package systemd)');
      assert.equal(result.status, 0, result.stderr);
      assert.doesNotMatch(result.stderr, /Unknown|Failed|ignoring|not executable/, result.stderr);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
