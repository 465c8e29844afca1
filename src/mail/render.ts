import { readFile } from 'node:fs/promises';
import Handlebars from 'handlebars';
import { LANGS, TEMPLATES_DIR, translate, type Lang } from '../i18n.ts';
import { compileMjmlInThread } from './mjml-thread.ts';

/** The e-mails Powiadom sends; each has templates/emails/<name>/email.mjml and email.txt. */
export type EmailName = 'confirm' | 'already-subscribed' | 'welcome' | 'notification' | 'digest';
const EMAIL_NAMES: readonly EmailName[] = ['confirm', 'already-subscribed', 'welcome', 'notification', 'digest'];
const TEXT_KEY: Record<EmailName, string> = {
  confirm: 'confirm',
  'already-subscribed': 'already',
  welcome: 'welcome',
  notification: 'notification',
  digest: 'digest',
};

/** A message ready for the mailer. */
export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

/** Per-message values a template may use. */
export type EmailData = Record<string, unknown>;

interface CompiledEmail {
  html: Handlebars.TemplateDelegate;
  text: Handlebars.TemplateDelegate;
  subject: string | null;
  preheader: string | null;
}

const escapeXml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Replaces [[dotted.key]] with the language's text (escaped for markup when `escape`). */
function fillTexts(source: string, lang: Lang, escape: boolean): string {
  return source.replace(/\[\[([\w.]+)\]\]/g, (_, key: string) => {
    const text = key === 'lang' ? lang : translate(lang, key);
    return escape ? escapeXml(text) : text;
  });
}

function optionalText(lang: Lang, key: string): string | null {
  try {
    return translate(lang, key);
  } catch {
    return null;
  }
}

/** The e-mail templates of every (name, language) after MJML: HTML and text sources for Handlebars. */
export interface EmailSources {
  name: EmailName;
  lang: Lang;
  html: string;
  text: string;
}

/** Reads every template, fills in each language's texts and runs MJML (in a thread of its own); throws on any MJML error. */
export async function compileEmailSources(): Promise<EmailSources[]> {
  const files = await Promise.all(
    EMAIL_NAMES.map(async (name) => {
      const dir = `${TEMPLATES_DIR}emails/${name}/`;
      const [mjml, text] = await Promise.all([readFile(`${dir}email.mjml`, 'utf8'), readFile(`${dir}email.txt`, 'utf8')]);
      return { name, dir, mjml, text };
    }),
  );
  const read = files.flatMap((file) => LANGS.map((lang) => ({ ...file, lang })));
  const results = await compileMjmlInThread(read.map((p) => ({ source: fillTexts(p.mjml, p.lang, true), filePath: `${p.dir}email.mjml` })));
  return read.map((p, i) => {
    const { html, errors } = results[i]!;
    if (errors.length > 0) throw new Error(`MJML errors in ${p.name}: ${errors.join('; ')}`);
    return { name: p.name, lang: p.lang, html, text: fillTexts(p.text, p.lang, false) };
  });
}

function compileEmail(sources: EmailSources): CompiledEmail {
  const key = TEXT_KEY[sources.name];
  return {
    html: Handlebars.compile(sources.html, { strict: false }),
    text: Handlebars.compile(sources.text, { noEscape: true }),
    subject: optionalText(sources.lang, `emails.${key}.subject`),
    preheader: optionalText(sources.lang, `emails.${key}.preheader`),
  };
}

/**
 * Renders e-mails from MJML templates. MJML runs once per (template, language) when the renderer is
 * created; a render is then only a Handlebars fill, which escapes every value as HTML.
 */
export class EmailRenderer {
  private readonly compiled = new Map<string, CompiledEmail>();

  /** A renderer of already compiled sources (a sender thread gets them from its parent). */
  constructor(readonly sources: EmailSources[]) {
    for (const s of sources) this.compiled.set(`${s.name}:${s.lang}`, compileEmail(s));
  }

  /** Compiles every template in every language; throws on any MJML error. */
  static async create(): Promise<EmailRenderer> {
    return new EmailRenderer(await compileEmailSources());
  }

  /** Fills a template; `data.subject`/`data.preheader` override the template's texts. */
  render(name: EmailName, lang: Lang, data: EmailData): RenderedEmail {
    const template = this.compiled.get(`${name}:${lang}`);
    if (!template) throw new Error(`Unknown e-mail template ${name}:${lang}`);
    const subject = String(data.subject ?? template.subject ?? '');
    const full = { ...data, subject, preheader: data.preheader ?? template.preheader ?? '' };
    return { subject, html: template.html(full), text: template.text(full) };
  }
}
