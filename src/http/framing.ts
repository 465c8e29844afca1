import type { Config } from '../config.ts';

const LOOPBACK = ['localhost', '127.0.0.1', '[::1]'];

/**
 * The origins that may frame the form (CSP frame-ancestors besides 'self'): ALLOWED_ORIGINS, and in
 * development also PUBLIC_URL's loopback aliases, so /demo opened at http://127.0.0.1:3000 instead of
 * http://localhost:3000 shows the form in its dialog instead of an empty frame.
 */
export function framingOrigins(config: Config): string[] {
  const origins = [...config.ALLOWED_ORIGINS];
  if (config.NODE_ENV === 'development') {
    const url = new URL(config.PUBLIC_URL);
    if (LOOPBACK.includes(url.hostname)) {
      for (const host of LOOPBACK) origins.push(`${url.protocol}//${host}${url.port ? `:${url.port}` : ''}`);
    }
  }
  return [...new Set(origins.filter((o) => o !== new URL(config.PUBLIC_URL).origin))];
}
