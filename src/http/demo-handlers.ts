import type { Request, Response } from 'express';
import type { Config } from '../config.ts';
import { translate } from '../i18n.ts';
import type { PageRenderer } from './pages.ts';
import { pageLang } from './request-info.ts';

/** True when GET /demo is served: development, or DEMO=1. */
export function isDemoEnabled(config: Config): boolean {
  return config.NODE_ENV === 'development' || config.DEMO;
}

/**
 * The demo page's own CSP: like the app's, but it loads the widget from PUBLIC_URL, which may be
 * another origin than the one the page is opened on (exactly as on the office's site).
 */
function demoCsp(publicOrigin: string): string {
  return [
    "default-src 'self'",
    `script-src 'self' ${publicOrigin}`,
    `style-src 'self' ${publicOrigin}`,
    `frame-src 'self' ${publicOrigin}`,
    "img-src 'self' data: https:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'self'",
  ].join('; ');
}

/** GET /demo: an imitation of the office's article page with the Powiadom widget on its "Powiadom" link. */
export function demoHandlers(config: Config, pages: PageRenderer) {
  const publicOrigin = new URL(config.PUBLIC_URL).origin;
  const outbox = config.NODE_ENV !== 'production' && !config.SMTP_URL;
  return {
    /** GET /demo */
    show(req: Request, res: Response) {
      const lang = pageLang(req);
      res
        .set('Content-Security-Policy', demoCsp(publicOrigin))
        .type('html')
        .send(
          pages.renderStandalone('demo', { lang, title: translate(lang, 'pages.demo.title'), currentUrl: req.originalUrl }, {
            publicUrl: config.PUBLIC_URL,
            outboxUrl: outbox ? '/dev/outbox' : undefined,
          }),
        );
    },
  };
}
