import type { RequestHandler } from 'express';

// Bull Board's page links IBM Plex from fonts.googleapis.com: blocked by our CSP, and a visitor's IP
// handed to a third party. The page falls back to the system fonts of its own stylesheet.
const GOOGLE_FONTS = /<link[^>]+https:\/\/fonts\.(googleapis|gstatic)\.com[^>]*>\s*/g;

/** Drops every third-party font link from Bull Board's HTML page, so it loads with default-src 'self' only. */
export function withoutThirdPartyFonts(): RequestHandler {
  return (_req, res, next) => {
    const send = res.send.bind(res);
    res.send = (body?: unknown) => send(typeof body === 'string' && body.includes('fonts.g') ? body.replace(GOOGLE_FONTS, '') : body);
    next();
  };
}
