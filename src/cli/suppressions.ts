import { emailProblem } from '../core/email-address.ts';
import { OPERATOR_REASONS, SuppressionService, type OperatorReason } from '../core/suppressions.ts';
import type { Deps } from '../deps.ts';
import { EXIT, note, print, UsageError } from './context.ts';
import { table } from './format.ts';

function service(deps: Deps): SuppressionService {
  return new SuppressionService(deps.pool, deps.log);
}

/** `suppressions list`: newest first; only hashes are stored, so addresses cannot be shown. */
export async function runList(deps: Deps, options: { limit: string; offset: string }): Promise<void> {
  const limit = Number(options.limit);
  const offset = Number(options.offset);
  if (!Number.isSafeInteger(limit) || limit < 1 || !Number.isSafeInteger(offset) || offset < 0) throw new UsageError('--limit and --offset must be whole numbers.');
  const rows = await service(deps).list(limit, offset);
  if (rows.length === 0) return note('The suppression list is empty here.');
  print(table(['email hash (SHA-256)', 'reason', 'since (UTC)', 'note'], rows.map((s) => [s.email_hash, s.reason, s.created_at.toISOString().slice(0, 16).replace('T', ' '), s.note])));
}

/** Usage errors of `suppressions add`, found before anything connects (exit 2 even when PostgreSQL or Redis is slow or down). */
export function checkAddSuppression(email: string, reason: string): void {
  if (!(OPERATOR_REASONS as readonly string[]).includes(reason)) throw new UsageError(`--reason must be one of ${OPERATOR_REASONS.join(', ')}.`);
  const problem = emailProblem(email);
  if (problem) throw new UsageError(`"${email}" is not an e-mail address: ${problem}.`);
}

/** `suppressions add <email> --reason`: the address is never mailed until lifted. */
export async function runAdd(deps: Deps, email: string, options: { reason: string; note?: string }): Promise<void> {
  checkAddSuppression(email, options.reason);
  const { suppression, created } = await service(deps).suppress(email, options.reason as OperatorReason, options.note ?? null);
  print(`${created ? 'Suppressed' : 'Already suppressed; reason updated'}: ${suppression.email_hash} (${suppression.reason})`);
}

/** `suppressions remove <email|hash>`: lifts a suppression. */
export async function runRemove(deps: Deps, emailOrHash: string): Promise<number> {
  if (!(await service(deps).lift(emailOrHash))) {
    note('No such suppression.');
    return EXIT.error;
  }
  print('Suppression lifted.');
  return EXIT.ok;
}
