import { maskEmail } from '../log.ts';

// An address as SMTP replies quote it: "<jan.kowalski@example.pl>", "jan@example.pl:", "to=<Jan+x@Example.PL>".
// The local part stops at blanks, brackets, quotes and separators; Unicode letters are allowed (SMTPUTF8).
const ADDRESS = /[^\s<>()[\]{},;:"'`=@]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+/gu;

/**
 * Masks every e-mail address inside a text (a relay's reply usually quotes the recipient):
 * "550 5.1.1 <jan@example.pl>: Recipient address rejected" → "550 5.1.1 <j***@example.pl>: …".
 */
export function maskAddresses(text: string): string {
  return text.replace(ADDRESS, (address) => maskEmail(address));
}

/** The message of an error as a text with every address masked. */
export function maskedErrorMessage(err: unknown): string {
  return maskAddresses(err instanceof Error ? err.message : String(err));
}

/**
 * Masks the addresses in an SMTP error in place — message, stack, reply text and nodemailer's
 * rejected lists — and returns it. Codes (code, responseCode, the enhanced status in the reply) stay,
 * so classifying the error still works; the error can then be logged, stored or thrown into a job.
 */
export function maskSmtpError<T>(err: T): T {
  if (typeof err !== 'object' || err === null) return err;
  const e = err as Record<string, unknown>;
  for (const key of ['message', 'stack', 'response']) {
    if (typeof e[key] === 'string') e[key] = maskAddresses(e[key] as string);
  }
  if (Array.isArray(e.rejected)) e.rejected = e.rejected.map((a: unknown) => (typeof a === 'string' ? maskAddresses(a) : a));
  if (Array.isArray(e.rejectedErrors)) e.rejectedErrors.forEach((inner: unknown) => maskSmtpError(inner));
  return err;
}
