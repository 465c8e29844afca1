import type { RequestHandler } from 'express';
import { ADMIN_TOKEN_ACTOR, type AuditLog } from '../core/audit.ts';
import { hashEmail } from '../core/email-address.ts';
import type { Logger } from '../log.ts';

/** The object of an admin-API call from its route parameters; an address in the path is stored hashed. */
function objectOf(params: Record<string, string>, path: string): { type: string; id: string } {
  const type = path.split('/')[2] ?? 'api';
  if (params.id) return { type, id: params.id };
  if (params.slug) return { type, id: params.slug };
  if (params.name) return { type, id: params.name };
  if (params.email) return { type, id: params.email.includes('@') ? hashEmail(params.email) : params.email };
  return { type, id: '' };
}

/**
 * Wraps the admin API's Bearer check so that every call that may change data (any method but GET/HEAD)
 * and succeeded (status < 400) leaves an audit entry "api <METHOD> <route>", actor "admin token".
 * Written once the answer is sent: a failure to record is logged, never turned into an error for the caller.
 */
export function auditedAdminApi(auth: RequestHandler, audit: AuditLog, log: Logger): RequestHandler {
  return (req, res, next) =>
    auth(req, res, (err?: unknown) => {
      if (err || req.method === 'GET' || req.method === 'HEAD') return next(err);
      res.on('finish', () => {
        if (res.statusCode >= 400) return;
        const path = (req.route as { path?: string } | undefined)?.path ?? req.path;
        const object = objectOf(req.params as Record<string, string>, path);
        audit.record(ADMIN_TOKEN_ACTOR, `api ${req.method} ${path}`, object.id ? object : { type: object.type, id: '-' }, { status: res.statusCode }).catch((e: unknown) => log.error({ err: e }, 'audit entry of an admin-API call failed'));
      });
      next();
    });
}
