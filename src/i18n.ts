import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from './infra/project-root.ts';

/** Languages of pages and e-mails; Polish first. */
export const LANGS = ['pl', 'en'] as const;
/** A supported language. */
export type Lang = (typeof LANGS)[number];

/** Folder of templates/ (e-mails, pages, texts), with a trailing slash. */
export const TEMPLATES_DIR = `${join(PROJECT_ROOT, 'templates')}/`;

type Messages = { [key: string]: string | Messages };

/**
 * Polish typography: a one-letter word (w, z, i, o, u, a) must not end a line, so the space after it
 * becomes a non-breaking one (U+00A0), in every Polish text of the pages and e-mails.
 */
export function bindOneLetterWords(text: string): string {
  return text.replace(/(?<=^|[\s\u00a0(„])([wzioauWZIOAU]) /g, '$1\u00a0');
}

function bindAll(messages: Messages): Messages {
  return Object.fromEntries(Object.entries(messages).map(([k, v]) => [k, typeof v === 'string' ? bindOneLetterWords(v) : bindAll(v)]));
}

const catalogues: Record<Lang, Messages> = {
  pl: bindAll(JSON.parse(readFileSync(`${TEMPLATES_DIR}i18n/pl.json`, 'utf8')) as Messages),
  en: JSON.parse(readFileSync(`${TEMPLATES_DIR}i18n/en.json`, 'utf8')) as Messages,
};

/** Narrows any value to a supported language, Polish when unknown. */
export function toLang(value: unknown): Lang {
  return value === 'en' ? 'en' : 'pl';
}

/** Looks up a dotted key ("emails.confirm.subject"); throws for a missing key so typos fail tests. */
export function translate(lang: Lang, key: string): string {
  let node: string | Messages | undefined = catalogues[lang];
  for (const part of key.split('.')) {
    node = typeof node === 'object' ? node[part] : undefined;
  }
  if (typeof node !== 'string') throw new Error(`Missing text "${key}" for language ${lang}`);
  return node;
}

/** The whole catalogue of a language, for templates that read many keys. */
export function messagesFor(lang: Lang): Messages {
  return catalogues[lang];
}
