import type { Request } from 'express';
import { toLang, type Lang } from '../i18n.ts';

/** The client's IP as Express resolved it (X-Forwarded-For only with TRUST_PROXY). */
export function clientIp(req: Request): string | null {
  const ip = req.ip ?? req.socket.remoteAddress ?? null;
  return ip?.replace(/^::ffff:/, '') ?? null;
}

/** Page language: ?lang=en, else the form's lang field, else Polish. */
export function pageLang(req: Request): Lang {
  const fromQuery = typeof req.query.lang === 'string' ? req.query.lang : undefined;
  const fromBody = typeof (req.body as { lang?: unknown } | undefined)?.lang === 'string' ? (req.body as { lang: string }).lang : undefined;
  return toLang(fromQuery ?? fromBody);
}

/** True when the request came from an HTML form rather than an API client. */
export function isFormPost(req: Request): boolean {
  return req.is('application/x-www-form-urlencoded') === 'application/x-www-form-urlencoded';
}
