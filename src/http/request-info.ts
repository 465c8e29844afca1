import type { Request } from 'express';
import ipaddr from 'ipaddr.js';
import { toLang, type Lang } from '../i18n.ts';

/** The client's IP as Express resolved it (X-Forwarded-For only with TRUST_PROXY). */
export function clientIp(req: Request): string | null {
  const ip = req.ip ?? req.socket.remoteAddress ?? null;
  return ip?.replace(/^::ffff:/, '') ?? null;
}

/**
 * The key of per-IP rate limits: an IPv4 address as is, an IPv6 address as its /64 (one subscriber line
 * or host usually holds a whole /64, so counting its addresses apart would multiply every limit).
 */
export function rateLimitKey(ip: string | null): string {
  if (!ip || !ipaddr.isValid(ip)) return ip ?? 'unknown';
  const parsed = ipaddr.parse(ip);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const v6 = parsed as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
  return `${v6.parts.slice(0, 4).map((p) => p.toString(16)).join(':')}::/64`;
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
