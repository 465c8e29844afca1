import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Request, Response } from 'express';
import { TEMPLATES_DIR } from '../i18n.ts';
import type { Brand } from './pages.ts';

/** Mixes a #rrggbb colour with black; `amount` 0..1. */
export function darken(hex: string, amount: number): string {
  const channels = [1, 3, 5].map((i) => Math.round(parseInt(hex.slice(i, i + 2), 16) * (1 - amount)));
  return `#${channels.map((c) => c.toString(16).padStart(2, '0')).join('')}`;
}

/** The brand's colours as CSS custom properties (a file, since the CSP forbids inline styles). */
export function themeCss(brand: Brand): string {
  if (!brand.primaryColor) return '/* no BRAND_PRIMARY_COLOR: powiadom.css defaults apply */\n';
  const primary = brand.primaryColor.toLowerCase();
  return [
    `:root { --brand: ${primary}; }`,
    // Dark mode keeps its light link and button colours (contrast on dark grey); its header takes a darker brand.
    `@media not (prefers-color-scheme: dark) { :root { --primary: ${primary}; --primary-dark: ${darken(primary, 0.25)}; } }`,
    `@media (prefers-color-scheme: dark) { :root { --brand: ${darken(primary, 0.3)}; } }`,
    '',
  ].join('\n');
}

/** A static answer with a strong ETag; 304 when the client has it. */
function sendCached(req: Request, res: Response, type: string, body: string, maxAgeSeconds: number): void {
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
  res.set({ 'Cache-Control': `public, max-age=${maxAgeSeconds}`, ETag: etag }).type(type);
  if (req.get('if-none-match') === etag) {
    res.status(304).end();
    return;
  }
  res.send(body);
}

/** Headers that let other sites load the widget's files (helmet's CORP default is same-origin). */
const CROSS_ORIGIN = { 'Cross-Origin-Resource-Policy': 'cross-origin', 'Access-Control-Allow-Origin': '*' };

/** GET /theme.css, /embed.js and /embed.css. */
export function staticHandlers(brand: Brand) {
  const css = themeCss(brand);
  const embedJs = readFileSync(`${TEMPLATES_DIR}static/embed.js`, 'utf8');
  const embedCss = readFileSync(`${TEMPLATES_DIR}static/embed.css`, 'utf8');
  return {
    /** GET /theme.css: BRAND_PRIMARY_COLOR as CSS variables. */
    theme(req: Request, res: Response) {
      sendCached(req, res, 'text/css; charset=utf-8', css, 3600);
    },
    /** GET /embed.js: the widget; other sites load it, so it may be read cross-origin. */
    embedScript(req: Request, res: Response) {
      res.set(CROSS_ORIGIN);
      sendCached(req, res, 'text/javascript; charset=utf-8', embedJs, 3600);
    },
    /** GET /embed.css: the dialog's styles, loaded by embed.js into the embedding page. */
    embedStyles(req: Request, res: Response) {
      res.set(CROSS_ORIGIN);
      sendCached(req, res, 'text/css; charset=utf-8', embedCss, 3600);
    },
  };
}
