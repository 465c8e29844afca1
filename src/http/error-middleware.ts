import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError, invalidJson, isConnectionError, notFound, payloadTooLarge, unavailable } from '../errors.ts';
import { translate, type Lang } from '../i18n.ts';
import { asAppError } from './domain-errors.ts';
import type { PageRenderer } from './pages.ts';
import { requestLog } from './request-log.ts';
import { pageLang } from './request-info.ts';

/** Maps core's domain errors, body-parser, connection and unknown errors onto AppError. */
function toAppError(err: unknown): AppError | null {
  const known = asAppError(err);
  if (known) return known;
  const e = err as { type?: string; status?: number };
  if (e.type === 'entity.too.large') return payloadTooLarge();
  if (e.type === 'entity.parse.failed') return invalidJson();
  if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') {
    return new AppError(415, 'invalid_request', 'Unsupported content encoding.');
  }
  if (isConnectionError(err)) return unavailable();
  return clientError(e);
}

/**
 * Any other error that carries a 4xx status (body-parser's "too many parameters", a broken compressed
 * body, …) is the client's: it answers that status, and is neither logged as a failure nor counted as a 5xx.
 */
function clientError(e: { status?: number; statusCode?: number }): AppError | null {
  const status = e.status ?? e.statusCode;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 499) return null;
  if (status === 413) return payloadTooLarge();
  return new AppError(status, 'invalid_request', status === 415 ? 'Unsupported content encoding.' : 'The request could not be read.');
}

const PAGE_MESSAGES = new Set(['unauthorized', 'invalid_token', 'expired_token', 'not_found', 'rate_limited', 'unavailable', 'payload_too_large', 'invalid_request']);

function pageMessage(lang: Lang, code: string): string {
  return translate(lang, `pages.error.${PAGE_MESSAGES.has(code) ? code : code === 'invalid_json' ? 'invalid_request' : 'internal'}`);
}

/** Answers unknown routes with 404 in the client's format. */
export const notFoundHandler: RequestHandler = (_req, _res, next) => next(notFound('Page'));

/** The one error middleware: JSON `{"error":{code,message,fields?}}`, or an HTML page for browser routes. */
export function errorMiddleware(pages: PageRenderer, formPath = '/subscribe'): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const log = requestLog(req);
    const appError = toAppError(err) ?? new AppError(500, 'internal', 'Internal server error.');
    if (appError.status >= 500) log?.error({ err }, 'request failed');
    else log?.debug({ code: appError.code }, 'request refused');
    if (res.headersSent) return;
    res.status(appError.status).set(appError.headers ?? {});
    const wantsHtml = res.locals.htmlErrors === true || (req.method === 'GET' && !req.path.startsWith('/api/') && req.accepts(['json', 'html']) === 'html');
    if (wantsHtml) {
      const lang = pageLang(req);
      try {
        const html = pages.render(
          'error',
          { lang, title: translate(lang, 'pages.error.title'), currentUrl: req.originalUrl },
          {
            message: pageMessage(lang, appError.code),
            formUrl: lang === 'en' ? `${formPath}?lang=en` : formPath,
            // A dead link's way out: ask for a fresh one instead of refilling the subscription form.
            manageUrl: appError.code === 'invalid_token' || appError.code === 'expired_token' ? (lang === 'en' ? '/manage?lang=en' : '/manage') : undefined,
          },
        );
        res.type('html').send(html);
        return;
      } catch (renderError) {
        // Never let Express's default handler print a stack trace: fall through to the JSON answer.
        log?.error({ err: renderError }, 'error page failed to render');
      }
    }
    res.json({ error: { code: appError.code, message: appError.message, ...(appError.fields ? { fields: appError.fields } : {}) } });
  };
}
