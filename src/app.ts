import cors from 'cors';
import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Deps } from './deps.ts';
import { withoutThirdPartyFonts } from './console/bull-board-page.ts';
import { consoleRouter, legacyAdminAuth } from './console/router.ts';
import { altchaStatic } from './http/altcha.ts';
import { devOutboxHandler } from './http/dev-outbox.ts';
import { errorMiddleware, notFoundHandler } from './http/error-middleware.ts';
import { framingOrigins } from './http/framing.ts';
import { httpMetrics } from './http/http-metrics.ts';
import { dashboardSecurityHeaders, queueDashboard, QUEUE_DASHBOARD_PATH } from './http/queue-dashboard.ts';
import { mountRoutes } from './http/route.ts';
import { proxyHint } from './http/proxy-hint.ts';
import { requestLogger } from './http/request-log.ts';
import { requireSameOrigin } from './http/same-origin.ts';
import { tokenPageHeaders, TOKEN_PAGE_PATHS } from './http/token-pages.ts';
import { TEMPLATES_DIR } from './i18n.ts';
import { routes } from './routes.ts';

/** Security headers: a CSP without inline script; framing only by the given origins (the embeddable form). */
function securityHeaders(allowedOrigins: string[], https: boolean) {
  return helmet({
    hsts: https,
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:', 'https:'],
        formAction: ["'self'"],
        frameAncestors: ["'self'", ...allowedOrigins],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        upgradeInsecureRequests: https ? [] : null,
      },
    },
    // frame-ancestors governs framing; X-Frame-Options cannot name other origins.
    frameguard: false,
    crossOriginEmbedderPolicy: false,
  });
}

/** Paths of the public API that pages on ALLOWED_ORIGINS may call from the browser. */
export const CORS_PATHS = ['/api/topics', '/api/subscriptions'];

/**
 * CORS for the public API only: ALLOWED_ORIGINS may read topics and post subscriptions (no cookies,
 * no Authorization header, so the admin methods on the same paths stay out of reach). None by default.
 */
function publicApiCors(allowedOrigins: string[]) {
  return cors({
    origin: (origin, callback) => callback(null, origin !== undefined && allowedOrigins.includes(origin) ? origin : false),
    methods: ['GET', 'POST'],
    allowedHeaders: ['Content-Type', 'X-Powiadom-Source'],
    credentials: false,
    maxAge: 600,
  });
}

/** Builds the Express application; it never listens (tests bind it to port 0). */
export function createApp(deps: Deps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.config.TRUST_PROXY);
  app.use(requestLogger(deps.log));
  if (deps.config.TRUST_PROXY === false) app.use(proxyHint(deps.log));
  app.use(httpMetrics());
  // Bull Board is a sub-application with its own routes; it sits outside the route table and is the one
  // place with a relaxed CSP (its page needs inline styles). Everything after it keeps the strict headers.
  const https = deps.config.PUBLIC_URL.startsWith('https:');
  app.use('/admin', requireSameOrigin(deps.config.PUBLIC_URL));
  app.use(QUEUE_DASHBOARD_PATH, dashboardSecurityHeaders(https), ...legacyAdminAuth(deps, 'operator'), withoutThirdPartyFonts(), queueDashboard(deps.queues));
  const framing = framingOrigins(deps.config);
  deps.log.info({ framingOrigins: ["'self'", ...framing] }, 'origins that may frame the form (CSP frame-ancestors)');
  app.use(securityHeaders(framing, deps.config.PUBLIC_URL.startsWith('https:')));
  app.use(CORS_PATHS, publicApiCors(deps.config.ALLOWED_ORIGINS));
  app.use('/static/altcha', altchaStatic());
  app.use('/static', express.static(`${TEMPLATES_DIR}static`, { maxAge: '1h', fallthrough: true }));
  app.get('/', (req, res) => res.redirect(302, `/subscribe${req.query.lang === 'en' ? '?lang=en' : ''}`));
  app.use(TOKEN_PAGE_PATHS, tokenPageHeaders);
  app.use('/admin', consoleRouter(deps));
  const router = express.Router();
  mountRoutes(router, routes(deps));
  app.use(router);
  if (deps.config.NODE_ENV !== 'production' && !deps.config.SMTP_URL) app.get('/dev/outbox', devOutboxHandler(deps));
  app.use(notFoundHandler);
  app.use(errorMiddleware(deps.pages));
  return app;
}
