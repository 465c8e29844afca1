/** Longest consent source recorded. */
const MAX_SOURCE = 100;

// Letters, digits and a few separators: enough for "form", "embed", "api", "import", "bip-2026",
// "www.duw.pl/aktualnosci"; never a spreadsheet formula (=, +, @ …), markup or control characters.
const SAFE_SOURCE = /^[\p{L}\p{N}][\p{L}\p{N} ._/:#-]*$/u;

/**
 * The consent source to record (from the X-Powiadom-Source header, the form's hidden field or an
 * import's consentSource): the value when it uses only the safe characters, else `fallback`.
 */
export function safeConsentSource(value: unknown, fallback: string): string {
  if (typeof value !== 'string') return fallback;
  const trimmed = value.trim().slice(0, MAX_SOURCE);
  return SAFE_SOURCE.test(trimmed) ? trimmed : fallback;
}
