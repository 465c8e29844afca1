import type { RequestHandler } from 'express';
import { forbidden } from '../errors.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses (403) a state-changing request that a browser sent from another site. Browsers re-send
 * cached Basic credentials with any request to the admin pages, so a page on another site could
 * otherwise make them add, retry or clean jobs. A request whose Sec-Fetch-Site is not same-origin, or
 * whose Origin is not this service's (PUBLIC_URL or the Host it was sent to), is refused; clients that
 * send neither header (curl, scripts) are not browsers and pass to the credential check.
 */
export function requireSameOrigin(publicUrl: string): RequestHandler {
  const publicOrigin = new URL(publicUrl).origin;
  return (req, _res, next) => {
    if (SAFE_METHODS.has(req.method)) return next();
    const site = req.get('sec-fetch-site');
    if (site !== undefined && site !== 'same-origin') return next(forbidden());
    const origin = req.get('origin');
    // Under Referrer-Policy: no-referrer browsers send "Origin: null" on same-origin form posts; Sec-Fetch-Site vouches then.
    if (origin === 'null' && site === 'same-origin') return next();
    if (origin !== undefined && origin !== publicOrigin && origin !== `${req.protocol}://${req.get('host')}`) return next(forbidden());
    next();
  };
}
