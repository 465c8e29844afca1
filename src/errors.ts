/** Stable error codes that API clients may rely on. */
export type ErrorCode =
  | 'invalid_request'
  | 'invalid_json'
  | 'payload_too_large'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'rate_limited'
  | 'invalid_token'
  | 'expired_token'
  | 'unavailable'
  | 'internal';

/** The one error type of the application: an HTTP status, a stable code and a human message. */
export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly fields?: Record<string, string>,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

/** 400: the request is malformed; `fields` names each bad field. */
export const invalid = (message: string, fields?: Record<string, string>) =>
  new AppError(400, 'invalid_request', message, fields);
/** 400: the body is not valid JSON. */
export const invalidJson = () => new AppError(400, 'invalid_json', 'The request body is not valid JSON.');
/** 413: the body exceeds the route's size limit. */
export const payloadTooLarge = () => new AppError(413, 'payload_too_large', 'The request body is too large.');
/** 401: missing or wrong credentials. */
export const unauthorized = (headers?: Record<string, string>) =>
  new AppError(401, 'unauthorized', 'Missing or invalid credentials.', undefined, headers);
/** 403: the request is understood but refused (a cross-site write to the admin pages). */
export const forbidden = () => new AppError(403, 'forbidden', 'This request is not allowed from another site.');
/** 404: no such resource. */
export const notFound = (what = 'Resource') => new AppError(404, 'not_found', `${what} not found.`);
/** 409: the resource exists already or is in a conflicting state. */
export const conflict = (message: string) => new AppError(409, 'conflict', message);
/** 429: too many requests; Retry-After in seconds. */
export const rateLimited = (retryAfterSeconds: number) =>
  new AppError(429, 'rate_limited', 'Too many requests. Please try again later.', undefined, {
    'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))),
  });
/** 400: a link token is malformed or tampered with. */
export const invalidToken = () => new AppError(400, 'invalid_token', 'This link is invalid.');
/** 410: a link token has expired. */
export const expiredToken = () => new AppError(410, 'expired_token', 'This link has expired.');
/** 503: a dependency (PostgreSQL, Redis) is unavailable. */
export const unavailable = () =>
  new AppError(503, 'unavailable', 'The service is temporarily unavailable. Please try again shortly.', undefined, {
    'Retry-After': '5',
  });

/** True for errors meaning PostgreSQL or Redis cannot be reached right now. */
export function isConnectionError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, message } = err as { code?: string; message?: string };
  if (code && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', '57P01', '57P03', '08006', '08001', '08003'].includes(code)) {
    return true;
  }
  return /Connection terminated|connection timeout|Connection is closed|ECONNREFUSED|timeout exceeded when trying to connect|is not queryable/i.test(message ?? '');
}
