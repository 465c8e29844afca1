import { readFile } from 'node:fs/promises';
import Handlebars from 'handlebars';
import type { EmailBrand } from '../brand/brand.ts';
import { LANGS, TEMPLATES_DIR, translate, type Lang } from '../i18n.ts';
import { darken } from '../http/static-handlers.ts';
import { compileMjmlInThread } from './mjml-thread.ts';
import { wrapText } from './wrap-text.ts';

/** The e-mails Powiadom sends; each has templates/emails/<name>/email.mjml and email.txt. */
export type EmailName = 'confirm' | 'already-subscribed' | 'welcome' | 'notification' | 'manage-link' | 'digest';
/** Every e-mail template. */
export const EMAIL_NAMES: readonly EmailName[] = ['confirm', 'already-subscribed', 'welcome', 'notification', 'manage-link', 'digest'];
const TEXT_KEY: Record<EmailName, string> = {
  confirm: 'confirm',
  'already-subscribed': 'already',
  welcome: 'welcome',
  notification: 'notification',
  'manage-link': 'manage',
  digest: 'digest',
};
/** Brand values of the templates, filled in with the texts when MJML compiles (`[[brand.x]]`). */
type BrandValues = Record<string, string>;

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

/** Replaces [[dotted.key]] with the language's text or a brand value (escaped for markup when `escape`). */
function fillTexts(source: string, lang: Lang, escape: boolean, brand: BrandValues): string {
  return source.replace(/\[\[([\w.]+)\]\]/g, (_, key: string) => {
    // The logo is markup of its own (or nothing); every other value is text.
    if (key === 'brand.logo') return escape ? brand[key]! : '';
    const text = key === 'lang' ? lang : key.startsWith('brand.') ? (brand[key] ?? missing(key)) : translate(lang, key);
    return escape ? escapeXml(text) : text;
  });
}

function missing(key: string): never {
  throw new Error(`Unknown brand value ${key}`);
}

/** The brand values of one language; texts may name the office ([[brand.officeName]]), so they are filled twice. */
function brandValues(brand: EmailBrand, lang: Lang): BrandValues {
  const days = brand.confirmDays;
  return {
    'brand.color': brand.primaryColor,
    'brand.colorDark': darken(brand.primaryColor, 0.45),
    'brand.homeUrl': brand.homeUrl,
    'brand.officeName': brand.officeName[lang],
    'brand.privacyUrl': brand.privacyUrl[lang],
    'brand.manageUrl': brand.manageUrl[lang],
    'brand.replyNote': translate(lang, brand.repliesRead ? 'emails.footer.replies' : 'emails.footer.automatic'),
    'brand.expiry': translate(lang, days === 1 ? 'emails.confirm.expiryOne' : 'emails.confirm.expiryMany').replace('{days}', String(days)),
    'brand.logo': brand.logoUrl ? `<mj-image src="${escapeXml(brand.logoUrl)}" alt="" width="40px" height="40px" align="left" padding="0 0 8px" />` : '',
  };
}

/** Inlines `<mj-include path="../partials/x.mjml" />` and `[[>x]]` (text) from templates/emails/partials/. */
async function inlinePartials(source: string, ext: 'mjml' | 'txt'): Promise<string> {
  const pattern = ext === 'mjml' ? /<mj-include path="\.\.\/partials\/([\w-]+)\.mjml" \/>/g : /\[\[>([\w-]+)\]\]/g;
  const names = [...new Set([...source.matchAll(pattern)].map((m) => m[1]!))];
  const files = new Map(await Promise.all(names.map(async (n) => [n, (await readFile(`${TEMPLATES_DIR}emails/partials/${n}.${ext}`, 'utf8')).replace(/\n$/, '')] as const)));
  return source.replace(pattern, (_, name: string) => files.get(name)!);
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

/** Reads every template, fills in each language's texts and the brand, runs MJML (in a thread of its own); throws on any MJML error. */
export async function compileEmailSources(brand: EmailBrand): Promise<EmailSources[]> {
  const files = await Promise.all(
    EMAIL_NAMES.map(async (name) => {
      const dir = `${TEMPLATES_DIR}emails/${name}/`;
      const [mjml, text] = await Promise.all([readFile(`${dir}email.mjml`, 'utf8'), readFile(`${dir}email.txt`, 'utf8')]);
      return { name, dir, mjml: await inlinePartials(mjml, 'mjml'), text: await inlinePartials(text, 'txt') };
    }),
  );
  const read = files.flatMap((file) => LANGS.map((lang) => ({ ...file, lang, values: brandValues(brand, lang) })));
  const fill = (source: string, lang: Lang, escape: boolean, values: BrandValues) => fillTexts(fillTexts(source, lang, escape, values), lang, escape, values);
  const results = await compileMjmlInThread(read.map((p) => ({ source: fill(p.mjml, p.lang, true, p.values), filePath: `${p.dir}email.mjml` })));
  return read.map((p, i) => {
    const { html, errors } = results[i]!;
    if (errors.length > 0) throw new Error(`MJML errors in ${p.name}: ${errors.join('; ')}`);
    // MJML writes height="auto" on images, which HTML does not allow (a height is a number of pixels).
    return { name: p.name, lang: p.lang, html: html.replace(/ height="auto"/g, ''), text: fill(p.text, p.lang, false, p.values) };
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

  /** Compiles every template in every language with the configured brand; throws on any MJML error. */
  static async create(brand: EmailBrand): Promise<EmailRenderer> {
    return new EmailRenderer(await compileEmailSources(brand));
  }

  /** Fills a template; `data.subject`/`data.preheader` override the template's texts. */
  render(name: EmailName, lang: Lang, data: EmailData): RenderedEmail {
    const template = this.compiled.get(`${name}:${lang}`);
    if (!template) throw new Error(`Unknown e-mail template ${name}:${lang}`);
    const subject = String(data.subject ?? template.subject ?? '');
    const full = { ...data, subject, preheader: data.preheader ?? template.preheader ?? '' };
    return { subject, html: template.html(full), text: wrapText(template.text(full), 76) };
  }
}
