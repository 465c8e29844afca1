import { execFile } from 'node:child_process';
import type TestAgent from 'supertest/lib/agent.js';
import supertest from 'supertest';
import type { Harness } from './harness.ts';

/** Runs `npm run cli -- operators …` as a child process on the harness's database; stdout, stderr and exit code. */
export function operatorsCli(h: Harness, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'operators', ...args],
      { env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', DATABASE_URL: h.config.DATABASE_URL, REDIS_URL: h.config.REDIS_URL, QUEUE_PREFIX: h.config.QUEUE_PREFIX, PUBLIC_URL: h.config.PUBLIC_URL, SECRET: h.config.SECRET, LOG_LEVEL: 'warn' }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The value of a hidden `_csrf` field in a page. */
export function csrfIn(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error('no _csrf field in the page');
  return match[1]!;
}

/** The path of the set-password link the CLI printed. */
export function passwordPath(stdout: string): string {
  const match = /https?:\/\/\S+(\/admin\/password\/[A-Za-z0-9_-]+)/.exec(stdout);
  if (!match) throw new Error(`no set-password link in: ${stdout}`);
  return match[1]!;
}

/** Creates an operator through the service with a password set, returning its address and password. */
export async function createOperator(h: Harness, email: string, role: 'viewer' | 'operator' | 'admin', password = 'ciche-jezioro-o-zmierzchu-42'): Promise<{ email: string; password: string }> {
  const { OperatorService } = await import('../../src/core/operators.ts');
  const service = new OperatorService(h.deps.pool, { idleSeconds: 1800, absoluteSeconds: 43_200 });
  const { token } = await service.add(email, role);
  const outcome = await service.setPassword(token, password);
  if (outcome !== 'ok') throw new Error(`could not set the password: ${outcome}`);
  return { email, password };
}

/** A supertest agent (keeps cookies) signed in to the console as this operator. */
export async function signedInAgent(h: Harness, who: { email: string; password: string }): Promise<TestAgent> {
  const agent = supertest.agent(h.app);
  const form = await agent.get('/admin/sign-in').expect(200);
  await agent.post('/admin/sign-in').type('form').send({ email: who.email, password: who.password, _csrf: csrfIn(form.text) }).expect(303);
  return agent;
}
