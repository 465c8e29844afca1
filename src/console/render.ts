import { readdirSync, readFileSync } from 'node:fs';
import Handlebars from 'handlebars';
import type { Actor } from '../core/audit.ts';
import { roleAllows, type Role } from '../core/operators.ts';
import { TEMPLATES_DIR, type Lang } from '../i18n.ts';

type Messages = { [key: string]: string | Messages };

/** Sections of the console's navigation, in order. */
const NAV = [
  { key: 'overview', href: '/admin' },
  { key: 'articles', href: '/admin/articles' },
  { key: 'subscribers', href: '/admin/subscribers' },
  { key: 'topics', href: '/admin/topics' },
  { key: 'suppressions', href: '/admin/suppressions' },
  { key: 'inbound', href: '/admin/inbound' },
  { key: 'audit', href: '/admin/audit' },
] as const;

/** What every console page receives besides its own data. */
export interface ConsolePage {
  lang: Lang;
  /** key of the title in the catalogue (pages.<name>.title) */
  title: string;
  /** the navigation entry to mark as current */
  nav?: (typeof NAV)[number]['key'];
  currentUrl: string;
  actor?: Actor | null;
  csrf?: string;
}

/** Looks up a dotted key in a catalogue; throws for a missing key so typos fail tests. */
function lookup(catalogue: Messages, key: string, lang: string): string {
  let node: string | Messages | undefined = catalogue;
  for (const part of key.split('.')) node = typeof node === 'object' ? node[part] : undefined;
  if (typeof node !== 'string') throw new Error(`Missing console text "${key}" for language ${lang}`);
  return node;
}

/** The same path with ?lang=en kept (Polish is the default and has no parameter). */
export function consoleHref(path: string, lang: Lang, params: Record<string, string | number | undefined> = {}): string {
  const url = new URL(path, 'http://x');
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
  if (lang === 'en') url.searchParams.set('lang', 'en');
  else url.searchParams.delete('lang');
  return url.pathname + url.search;
}

/** Server-rendered console pages: templates/admin/*.hbs inside templates/admin/layout.hbs, texts from templates/admin/i18n. */
export class ConsoleRenderer {
  private constructor(
    private readonly hbs: typeof Handlebars,
    private readonly pages: Map<string, Handlebars.TemplateDelegate>,
    private readonly catalogues: Record<Lang, Messages>,
  ) {}

  /** Compiles every console template once (synchronously, at start-up). */
  static create(): ConsoleRenderer {
    const dir = `${TEMPLATES_DIR}admin/`;
    const catalogues = {
      pl: JSON.parse(readFileSync(`${dir}i18n/pl.json`, 'utf8')) as Messages,
      en: JSON.parse(readFileSync(`${dir}i18n/en.json`, 'utf8')) as Messages,
    };
    const hbs = Handlebars.create();
    const renderer = new ConsoleRenderer(hbs, new Map(), catalogues);
    renderer.registerHelpers();
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.hbs'))) {
      renderer.pages.set(file.replace(/\.hbs$/, ''), hbs.compile(readFileSync(dir + file, 'utf8'), { strict: false }));
    }
    return renderer;
  }

  /** A text of the console in a language. */
  t(lang: Lang, key: string): string {
    return lookup(this.catalogues[lang], key, lang);
  }

  private registerHelpers(): void {
    const root = (options: Handlebars.HelperOptions) => options.data.root as { lang: Lang; actor?: Actor | null };
    this.hbs.registerHelper('t', (key: string, options: Handlebars.HelperOptions) => this.t(root(options).lang, key));
    this.hbs.registerHelper('eq', (a: unknown, b: unknown) => a === b);
    this.hbs.registerHelper('gt', (a: number, b: number) => a > b);
    this.hbs.registerHelper('href', (path: string, options: Handlebars.HelperOptions) => consoleHref(path, root(options).lang, options.hash as Record<string, string>));
    this.hbs.registerHelper('can', (role: Role, options: Handlebars.HelperOptions) => {
      const actor = root(options).actor;
      return actor ? roleAllows(actor.role, role) : false;
    });
    this.hbs.registerHelper('when', (date: Date | null | undefined, options: Handlebars.HelperOptions) => formatWhen(date, root(options).lang));
    this.hbs.registerHelper('num', (n: number | null | undefined, options: Handlebars.HelperOptions) => (n ?? 0).toLocaleString(root(options).lang === 'pl' ? 'pl-PL' : 'en-GB'));
    this.hbs.registerHelper('concat', (...args: unknown[]) => args.slice(0, -1).join(''));
    this.hbs.registerHelper('json', (value: unknown) => JSON.stringify(value));
  }

  /** Renders a page inside the console's layout. */
  render(name: string, page: ConsolePage, data: Record<string, unknown> = {}): string {
    const page_ = this.pages.get(name);
    const layout = this.pages.get('layout');
    if (!page_ || !layout) throw new Error(`Unknown console page ${name}`);
    const otherLang: Lang = page.lang === 'pl' ? 'en' : 'pl';
    const switchUrl = new URL(page.currentUrl, 'http://x');
    if (otherLang === 'en') switchUrl.searchParams.set('lang', 'en');
    else switchUrl.searchParams.delete('lang');
    const nav = page.actor ? NAV.map((n) => ({ ...n, href: consoleHref(n.href, page.lang), current: n.key === page.nav })) : [];
    const root = { ...data, ...page, title: this.t(page.lang, page.title), otherLang, switchLangUrl: switchUrl.pathname + switchUrl.search, nav };
    return layout({ ...root, body: page_(root) });
  }
}

/** "2 grudnia 2026, 11:24" style date and time in Europe/Warsaw, or an empty string. */
export function formatWhen(date: Date | null | undefined, lang: Lang): string {
  if (!date) return '';
  return new Intl.DateTimeFormat(lang === 'pl' ? 'pl-PL' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'Europe/Warsaw' }).format(date);
}
