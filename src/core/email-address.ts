import { createHash } from 'node:crypto';

/** RFC 5321 limits: 64 octets local part, 254 octets for a whole forward-path address. */
export const MAX_LOCAL_PART_OCTETS = 64;
export const MAX_ADDRESS_OCTETS = 254;

// Pragmatic address grammar (dot-atom local part, LDH domain labels, a TLD of letters or IDN xn--).
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DOMAIN_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;
const TOP_LEVEL = /^(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})$/;
// Any C0/C1 control character, CR/LF included, or DEL.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

/** Why an address was refused, or null when it is acceptable. */
export function emailProblem(raw: string): string | null {
  if (CONTROL_CHARACTERS.test(raw)) return 'must not contain line breaks or control characters';
  const email = raw.trim();
  if (email.length === 0) return 'is required';
  if (Buffer.byteLength(email) > MAX_ADDRESS_OCTETS) return `must be at most ${MAX_ADDRESS_OCTETS} characters`;
  const at = email.lastIndexOf('@');
  if (at <= 0 || at === email.length - 1) return 'is not a valid e-mail address';
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  if (Buffer.byteLength(local) > MAX_LOCAL_PART_OCTETS) return `local part must be at most ${MAX_LOCAL_PART_OCTETS} characters`;
  if (!LOCAL_PART.test(local)) return 'is not a valid e-mail address';
  const labels = domain.split('.');
  if (labels.length < 2 || !labels.every((l) => DOMAIN_LABEL.test(l)) || !TOP_LEVEL.test(labels.at(-1) ?? '')) {
    return 'is not a valid e-mail address';
  }
  return null;
}

/** The canonical form we store and compare: trimmed and lower-cased. */
export function normalizeEmail(raw: string): string {
  return raw.trim().toLowerCase();
}

/** SHA-256 of the normalised address: what the suppression list keeps after erasure. */
export function hashEmail(raw: string): string {
  return createHash('sha256').update(normalizeEmail(raw)).digest('hex');
}
