import { AuditLog } from '../core/audit.ts';
import { OperatorTotp } from '../core/operator-totp.ts';
import { emailProblem } from '../core/email-address.ts';
import { OperatorService, PASSWORD_LINK_TTL_SECONDS, ROLES, type Role } from '../core/operators.ts';
import type { Deps } from '../deps.ts';
import { EXIT, note, print, UsageError } from './context.ts';
import { table } from './format.ts';

/** The CLI acts as whoever runs it on the server; recorded as such in the audit log. */
const CLI_ACTOR = { label: 'cli', operatorId: null, role: 'admin' } as const;

function service(deps: Deps): OperatorService {
  return new OperatorService(deps.pool, { idleSeconds: deps.config.CONSOLE_IDLE_MINUTES * 60, absoluteSeconds: deps.config.CONSOLE_SESSION_HOURS * 3600 });
}

/** The page where an operator sets a password with a one-time token. */
export function passwordLink(publicUrl: string, token: string): string {
  return `${publicUrl}/admin/password/${token}`;
}

/** Checks `operators add` arguments before anything connects (wrong usage exits 2). */
export function checkAddArguments(email: string, role: string): Role {
  const problem = emailProblem(email);
  if (problem) throw new UsageError(`"${email}" is not an e-mail address: ${problem}.`);
  if (!(ROLES as readonly string[]).includes(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}.`);
  return role as Role;
}

/** `operators add <email> --role`: creates the account and prints a one-time link to set its password. */
export async function runAddOperator(deps: Deps, email: string, role: Role): Promise<void> {
  const { operator, token } = await service(deps).add(email, role);
  await new AuditLog(deps.pool).record(CLI_ACTOR, 'operator.add', { type: 'operator', id: operator.id }, { email: operator.email, role });
  print(`Added ${operator.email} (${operator.role}). Send them this one-time link to set a password (valid ${PASSWORD_LINK_TTL_SECONDS / 3600} h):`);
  print(passwordLink(deps.config.PUBLIC_URL, token));
}

/** `operators reset <email>`: a new one-time set-password link (the old password works until it is used). */
export async function runResetOperator(deps: Deps, email: string): Promise<number> {
  const token = await service(deps).resetLink(email);
  if (!token) {
    note('No enabled operator with this address.');
    return EXIT.error;
  }
  await new AuditLog(deps.pool).record(CLI_ACTOR, 'operator.reset-link', { type: 'operator', id: email.trim().toLowerCase() });
  print(passwordLink(deps.config.PUBLIC_URL, token));
  return EXIT.ok;
}

/** `operators list`: every account, its role and state. */
export async function runListOperators(deps: Deps): Promise<void> {
  const rows = await service(deps).list();
  if (rows.length === 0) return note('No operators yet: add one with `operators add <email> --role admin`.');
  const when = (d: Date | null) => (d ? d.toISOString().slice(0, 16).replace('T', ' ') : '');
  print(table(['id', 'email', 'role', 'totp', 'password set (UTC)', 'disabled (UTC)'], rows.map((o) => [String(o.id), o.email, o.role, o.totp ? 'on' : 'off', when(o.password_set_at), when(o.disabled_at)])));
}

/** `operators disable <email>`: the account can no longer sign in; its sessions end at once. */
export async function runDisableOperator(deps: Deps, email: string): Promise<number> {
  if (!(await service(deps).disable(email))) {
    note('No such operator.');
    return EXIT.error;
  }
  await new AuditLog(deps.pool).record(CLI_ACTOR, 'operator.disable', { type: 'operator', id: email.trim().toLowerCase() });
  print('Disabled; every session of this account has ended.');
  return EXIT.ok;
}

/** `operators reset-totp <email>`: turns the account's TOTP off (a lost phone) and drops its recovery codes. */
export async function runResetOperatorTotp(deps: Deps, email: string): Promise<number> {
  const id = await new OperatorTotp(deps.pool, deps.config.SECRET).reset(email);
  if (id === null) {
    note('No operator with this address has two-step verification on.');
    return EXIT.error;
  }
  await new AuditLog(deps.pool).record(CLI_ACTOR, 'operator.reset-totp', { type: 'operator', id });
  print('Two-step verification is off for this account; they sign in with the password and may turn it on again.');
  return EXIT.ok;
}
