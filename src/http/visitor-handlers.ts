import type { Request, Response } from 'express';
import { controllerNames, officeNames } from '../brand/brand.ts';
import type { Config } from '../config.ts';
import type { Deps } from '../deps.ts';
import { AppError } from '../errors.ts';
import { formatDay } from '../brand/format-date.ts';
import { translate, type Lang } from '../i18n.ts';
import { withLang } from './pages.ts';
import { pageLang } from './request-info.ts';
import { manageLinkSchema } from './schemas.ts';
import { parseInput } from './validate.ts';

/** Shown as the statement's dates until the office sets A11Y_PUBLISHED / A11Y_UPDATED / A11Y_PREPARED. */
export const A11Y_DEFAULT_DATE = '2026-12-02';

/** Pages and API of visitors who are not in a token flow: the management link, the legal pages. */
export function visitorHandlers(deps: Deps) {
  const { pages, config } = deps;
  const page = (req: Request, res: Response, name: string, lang: Lang, titleKey: string, data: Record<string, unknown>, status = 200) => {
    const currentUrl = req.method === 'GET' ? req.originalUrl : withLang(req.path, lang);
    res.status(status).type('html').send(pages.render(name, { lang, title: translate(lang, titleKey), currentUrl, embed: req.query.embed === '1' }, data));
  };

  /** Validates the address; a bad one is a 400 with the field named, and nothing is queued. */
  const requestLink = async (body: unknown, lang: Lang): Promise<string> => {
    const input = parseInput(manageLinkSchema, body ?? {});
    await deps.manageLinks.requestForAddress(input.email, lang);
    return input.email;
  };

  return {
    /** GET /manage: asks only for the address. */
    showManage(req: Request, res: Response) {
      const lang = pageLang(req);
      page(req, res, 'manage', lang, 'pages.manage.title', { values: {} });
    },

    /** POST /manage (form): the same page whether or not the address is known. */
    async manageFromForm(req: Request, res: Response) {
      const lang = pageLang(req);
      const body = (req.body ?? {}) as Record<string, unknown>;
      try {
        const email = await requestLink(body, lang);
        page(req, res, 'manage-sent', lang, 'pages.manage.sentTitle', { typedEmail: email }, 202);
      } catch (err) {
        if (!(err instanceof AppError) || err.status !== 400) throw err;
        const message = translate(lang, 'pages.errors.email');
        const data = { values: { email: String(body.email ?? '').slice(0, 254) }, fieldErrors: { email: message }, errors: [{ field: 'email', message }] };
        page(req, res, 'manage', lang, 'pages.manage.title', data, 400);
      }
    },

    /** POST /api/manage-link: 202 {"status":"sent"} whether or not the address is known. */
    async manageFromJson(req: Request, res: Response) {
      const body = (req.body ?? {}) as Record<string, unknown>;
      await requestLink(body, body.lang === 'en' ? 'en' : 'pl');
      res.status(202).json({ status: 'sent' });
    },

    /** GET /informacja-o-danych and /privacy: the RODO art. 13 notice, or the office's own page. */
    privacy(req: Request, res: Response, lang: Lang) {
      if (config.BRAND_PRIVACY_URL) return res.redirect(302, config.BRAND_PRIVACY_URL);
      page(req, res, 'privacy', lang, 'pages.privacy.title', { legal: privacyData(config, lang) });
    },

    /** GET /deklaracja-dostepnosci and /accessibility: the accessibility statement, or the office's own. */
    accessibility(req: Request, res: Response, lang: Lang) {
      if (config.BRAND_ACCESSIBILITY_URL) return res.redirect(302, config.BRAND_ACCESSIBILITY_URL);
      page(req, res, 'accessibility', lang, 'pages.accessibility.title', { a11y: accessibilityData(config, lang) });
    },
  };
}

function privacyData(config: Config, lang: Lang) {
  return {
    controller: controllerNames(config)[lang],
    address: config.BRAND_CONTROLLER_ADDRESS,
    controllerEmail: config.BRAND_CONTROLLER_EMAIL,
    dpoEmail: config.BRAND_DPO_EMAIL,
    retentionPending: translate(lang, 'pages.privacy.retentionPending').replace('{days}', String(config.PENDING_TTL_DAYS)),
  };
}

function accessibilityData(config: Config, lang: Lang) {
  const day = (iso: string | undefined) => formatDay(new Date(`${iso ?? A11Y_DEFAULT_DATE}T12:00:00Z`), lang);
  const t = (key: string) => translate(lang, `pages.accessibility.${key}`);
  return {
    intro: t('intro').replace('{office}', officeNames(config)[lang]),
    url: `${config.PUBLIC_URL}/subscribe${lang === 'en' ? '?lang=en' : ''}`,
    published: day(config.A11Y_PUBLISHED),
    updated: day(config.A11Y_UPDATED ?? config.A11Y_PUBLISHED),
    status: t(`status_${config.A11Y_STATUS}`),
    prepared: day(config.A11Y_PREPARED ?? config.A11Y_UPDATED ?? config.A11Y_PUBLISHED),
    preparedBy: config.A11Y_PREPARED_BY,
    contactName: config.A11Y_CONTACT_NAME ?? officeNames(config)[lang],
    contactEmail: config.A11Y_CONTACT_EMAIL ?? config.BRAND_CONTROLLER_EMAIL,
    contactPhone: config.A11Y_CONTACT_PHONE,
    architecture: config.A11Y_ARCHITECTURE,
    notSet: t('notSet'),
  };
}
