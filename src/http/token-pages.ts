import type { RequestHandler } from 'express';

/** Paths of the pages opened with a link token (confirm, preferences with its export, unsubscribe). */
export const TOKEN_PAGE_PATHS = ['/confirm', '/preferences', '/unsubscribe'];

/**
 * Headers of token pages: never stored by a browser or proxy cache (a shared computer's history and
 * back button must not reopen someone's preferences), and the token never leaves in a Referer.
 * Express matches the mount paths without regard to case, as it routes.
 */
export const tokenPageHeaders: RequestHandler = (_req, res, next) => {
  res.set({ 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' });
  next();
};
