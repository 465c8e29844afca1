import { readFile, readdir } from 'node:fs/promises';
import Handlebars from 'handlebars';
import { TEMPLATES_DIR, translate, type Lang } from '../i18n.ts';

/** Branding of the pages (office name, logo, home link). */
export interface Brand {
  officeName: Record<Lang, string>;
  serviceName: string;
  /** Target of the office name in the header. */
  homeUrl: string;
  logoUrl?: string;
  /** #rrggbb of the header and buttons; served as /theme.css. */
  primaryColor?: string;
  /** the data controller named in the consent sentence and the privacy notice */
  controllerName?: Record<Lang, string>;
  /** footer links: privacy notice, accessibility statement, the "send me my link" page */
  links?: Record<Lang, { privacy: string; accessibility: string; manage: string }>;
}

/** Values every page receives besides its own. */
export interface PageContext {
  lang: Lang;
  title: string;
  /** Path and query of the current page, for the language switch. */
  currentUrl: string;
  embed?: boolean;
}

/** Server-rendered pages from templates/pages/*.hbs inside layout.hbs; every value is HTML-escaped. */
export class PageRenderer {
  private constructor(
    private readonly pages: Map<string, Handlebars.TemplateDelegate>,
    private readonly layout: Handlebars.TemplateDelegate,
    private readonly brand: Brand,
    private readonly basePath: string,
  ) {}

  /** Compiles every page template once. */
  static async create(brand: Brand, basePath = ''): Promise<PageRenderer> {
    const hbs = Handlebars.create();
    hbs.registerHelper('t', function (this: unknown, key: string, options: Handlebars.HelperOptions) {
      return translate((options.data.root as { lang: Lang }).lang, key);
    });
    hbs.registerHelper('eq', (a: unknown, b: unknown) => a === b);
    // Keeps a link inside the widget's dialog: adds embed=1 when the page itself is embedded.
    hbs.registerHelper('embedUrl', function (this: unknown, url: string, options: Handlebars.HelperOptions) {
      return (options.data.root as { embed?: boolean }).embed ? withQuery(url, 'embed', '1') : url;
    });
    const dir = `${TEMPLATES_DIR}pages/`;
    const pages = new Map<string, Handlebars.TemplateDelegate>();
    for (const file of (await readdir(dir)).filter((f) => f.endsWith('.hbs'))) {
      pages.set(file.replace(/\.hbs$/, ''), hbs.compile(await readFile(dir + file, 'utf8'), { strict: false }));
    }
    const layout = pages.get('layout');
    if (!layout) throw new Error('templates/pages/layout.hbs is missing');
    return new PageRenderer(pages, layout, brand, basePath);
  }

  /** Renders a page inside the layout. */
  render(name: string, context: PageContext, data: Record<string, unknown> = {}): string {
    const root = this.rootContext(context, data);
    return this.layout({ ...root, body: this.page(name)(root) });
  }

  /** Renders a page that is a whole document of its own (the demo article page). */
  renderStandalone(name: string, context: PageContext, data: Record<string, unknown> = {}): string {
    return this.page(name)(this.rootContext(context, data));
  }

  /** The brand as pages see it (office name in the page's language). */
  brandFor(lang: Lang) {
    return { ...this.brand, officeName: this.brand.officeName[lang], controllerName: this.brand.controllerName?.[lang] ?? this.brand.officeName[lang], links: this.brand.links?.[lang] };
  }

  private page(name: string): Handlebars.TemplateDelegate {
    const page = this.pages.get(name);
    if (!page) throw new Error(`Unknown page ${name}`);
    return page;
  }

  private rootContext(context: PageContext, data: Record<string, unknown>) {
    const otherLang: Lang = context.lang === 'pl' ? 'en' : 'pl';
    return {
      ...data,
      ...context,
      brand: this.brandFor(context.lang),
      basePath: this.basePath,
      otherLang,
      switchLangUrl: withLang(context.currentUrl, otherLang),
      homeFormUrl: context.lang === 'en' ? '/subscribe?lang=en' : '/subscribe',
    };
  }
}

/** The same URL with one query parameter set. */
export function withQuery(url: string, name: string, value: string): string {
  const parsed = new URL(url, 'http://x');
  parsed.searchParams.set(name, value);
  return parsed.pathname + parsed.search;
}

/** The same URL with ?lang= set (Polish is the default and drops the parameter). */
export function withLang(url: string, lang: Lang): string {
  const parsed = new URL(url, 'http://x');
  if (lang === 'pl') parsed.searchParams.delete('lang');
  else parsed.searchParams.set('lang', lang);
  return parsed.pathname + parsed.search;
}
