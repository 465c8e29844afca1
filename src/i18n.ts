import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from './project-root.ts';

/** Languages of pages and e-mails; Polish first. */
export const LANGS = ['pl', 'en'] as const;
/** A supported language. */
export type Lang = (typeof LANGS)[number];

/** Folder of templates/ (e-mails, pages, texts), with a trailing slash. */
export const TEMPLATES_DIR = `${join(PROJECT_ROOT, 'templates')}/`;

type Messages = { [key: string]: string | Messages };

const catalogues: Record<Lang, Messages> = {
  pl: JSON.parse(readFileSync(`${TEMPLATES_DIR}i18n/pl.json`, 'utf8')) as Messages,
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
