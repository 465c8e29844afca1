import type { Request, Response } from 'express';

/** Name and flags of the console's session cookie and of the sign-in form's CSRF cookie. */
export interface CookieNames {
  session: string;
  signIn: string;
  /** the second step of a sign-in (password passed, TOTP code due) */
  challenge: string;
  secure: boolean;
}

/**
 * `__Host-` names (Secure, Path=/, no Domain: not settable by a sibling subdomain) when PUBLIC_URL is
 * https; browsers refuse `__Host-` cookies without Secure, so plain http (development, tests) drops the prefix.
 */
export function cookieNames(publicUrl: string): CookieNames {
  const secure = publicUrl.startsWith('https:');
  const prefix = secure ? '__Host-' : '';
  return { session: `${prefix}powiadom_console`, signIn: `${prefix}powiadom_console_signin`, challenge: `${prefix}powiadom_console_2fa`, secure };
}

/** The value of one cookie of a request, or null. */
export function readCookie(req: Request, name: string): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return null;
}

/** Sets a console cookie: HttpOnly, SameSite=Strict, Path=/, Secure under https; ends with the browser session. */
export function setCookie(res: Response, names: CookieNames, name: string, value: string): void {
  res.cookie(name, value, { httpOnly: true, sameSite: 'strict', secure: names.secure, path: '/' });
}

/** Removes a console cookie. */
export function clearCookie(res: Response, names: CookieNames, name: string): void {
  res.clearCookie(name, { httpOnly: true, sameSite: 'strict', secure: names.secure, path: '/' });
}
