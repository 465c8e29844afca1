import type { Request, Response } from 'express';
import { emailBrand } from '../brand/brand.ts';
import type { Config } from '../config.ts';
import { LANGS, toLang, translate, type Lang } from '../i18n.ts';
import { EmailRenderer, type EmailData, type EmailName } from '../mail/render.ts';
import { notFound } from '../errors.ts';
import type { PageRenderer } from './pages.ts';

const PREVIEWED: readonly EmailName[] = ['confirm', 'already-subscribed', 'welcome', 'notification', 'manage-link'];

/** Sample values for every placeholder of the templates (the fixture article for the notification). */
function sampleData(config: Config, name: EmailName, lang: Lang): EmailData {
  const base = config.PUBLIC_URL;
  const suffix = lang === 'en' ? '?lang=en' : '';
  const summary =
    'Wojewoda Tomasz Smolarz i wicewojewoda Ewa Mańkowska spotkali się w Dolnośląskim Urzędzie Wojewódzkim z Ambasadorem Republiki Kazachstanu w Polsce, Erikiem Utembajewem.';
  // The notification's subject and preheader come from the article, as the sending path sets them.
  const article = name === 'notification' ? { subject: 'Wizyta Ambasadora Kazachstanu', preheader: summary } : {};
  return {
    ...article,
    topicNames: `${translate(lang, 'topicNames.dla-mediow')}, ${translate(lang, 'topicNames.komunikaty')}`,
    confirmUrl: `${base}/confirm/przyklad-podgladu-preview-token-000000${suffix}`,
    preferencesUrl: `${base}/preferences/przyklad-podgladu-preview-token-00000${suffix}`,
    unsubscribeUrl: `${base}/unsubscribe/przyklad-podgladu-preview-token-0000${suffix}`,
    title: 'Wizyta Ambasadora Kazachstanu',
    url: 'https://www.duw.pl/pl/dla-mediow/aktualnosc/9109,Wizyta-Ambasadora-Kazachstanu.html',
    publishedAt: '28.04.2024, 01:03',
    source: 'Dolnośląski Urząd Wojewódzki',
    articleLang: 'pl',
    multipleTopics: true,
    summary,
  };
}

/** The CSP of one rendered e-mail: its inline styles are allowed, scripts and forms are not. */
const EMAIL_PREVIEW_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox";

/** GET /admin/templates (index) and /admin/templates/:name/:lang (one e-mail's HTML), admin only. */
export function templatePreviewHandlers(config: Config, pages: PageRenderer) {
  let renderer: Promise<EmailRenderer> | null = null;
  // MJML compilation takes a moment; do it on the first preview, not at every start.
  const emails = () => (renderer ??= EmailRenderer.create(emailBrand(config)).catch((err: unknown) => {
    renderer = null;
    throw err;
  }));

  return {
    /** GET /admin/templates: every template in both languages with subject, preheader, size and text. */
    async index(req: Request, res: Response) {
      const lang = toLang(req.query.lang);
      const r = await emails();
      const previews = PREVIEWED.flatMap((name) =>
        LANGS.map((emailLang) => {
          const data = sampleData(config, name, emailLang);
          const email = r.render(name, emailLang, data);
          return { name, lang: emailLang, subject: email.subject, preheader: preheaderOf(email.html), text: email.text, kb: (Buffer.byteLength(email.html) / 1024).toFixed(1), htmlUrl: `/admin/templates/${name}/${emailLang}` };
        }),
      );
      res.set('Cache-Control', 'no-store').type('html').send(pages.render('admin-templates', { lang, title: translate(lang, 'pages.adminTemplates.title'), currentUrl: req.originalUrl }, { previews }));
    },

    /** GET /admin/templates/:name/:lang: the HTML part exactly as sent, with sample data. */
    async html(req: Request, res: Response) {
      const name = PREVIEWED.find((n) => n === req.params.name);
      const lang = LANGS.find((l) => l === req.params.lang);
      if (!name || !lang) throw notFound('Template');
      const email = (await emails()).render(name, lang, sampleData(config, name, lang));
      res.set({ 'Content-Security-Policy': EMAIL_PREVIEW_CSP, 'Cache-Control': 'no-store' }).type('html').send(email.html);
    },
  };
}

/** The preheader MJML put into the HTML (the hidden first text), for display. */
function preheaderOf(html: string): string {
  const match = /<div style="display:none;font-size:1px;[^"]*">([^<]*)/.exec(html);
  return match?.[1]?.trim() ?? '';
}
