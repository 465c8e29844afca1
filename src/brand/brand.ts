import type { Config } from '../config.ts';
import type { Lang } from '../i18n.ts';

/** The default office: the Lower Silesian Voivodeship Office in Wrocław. */
const DEFAULT_OFFICE: Record<Lang, string> = {
  pl: 'Dolnośląski Urząd Wojewódzki we Wrocławiu',
  en: 'Lower Silesian Voivodeship Office in Wrocław',
};

/** Primary colour when BRAND_PRIMARY_COLOR is not set (the default office's blue). */
export const DEFAULT_PRIMARY_COLOR = '#0b4f8a';

/** The office's name in both languages (BRAND_OFFICE_NAME, BRAND_OFFICE_NAME_EN). */
export function officeNames(config: Config): Record<Lang, string> {
  const pl = config.BRAND_OFFICE_NAME ?? DEFAULT_OFFICE.pl;
  return { pl, en: config.BRAND_OFFICE_NAME_EN ?? config.BRAND_OFFICE_NAME ?? DEFAULT_OFFICE.en };
}

/** The office's short name for subjects (BRAND_SHORT_NAME; DUW for the default office, else its full name). */
export function officeShortName(config: Config): string {
  return config.BRAND_SHORT_NAME ?? (config.BRAND_OFFICE_NAME ? config.BRAND_OFFICE_NAME : 'DUW');
}

/** The data controller in both languages (BRAND_CONTROLLER_NAME[_EN]), else the office. */
export function controllerNames(config: Config): Record<Lang, string> {
  const office = officeNames(config);
  const pl = config.BRAND_CONTROLLER_NAME ?? office.pl;
  return { pl, en: config.BRAND_CONTROLLER_NAME_EN ?? config.BRAND_CONTROLLER_NAME ?? office.en };
}

/** Where the visitor-facing legal pages are: the office's own (BRAND_*_URL) or ours. */
export function legalLinks(config: Config, lang: Lang, absolute = false): { privacy: string; accessibility: string; manage: string } {
  const base = absolute ? config.PUBLIC_URL : '';
  const suffix = lang === 'en' ? '?lang=en' : '';
  return {
    privacy: config.BRAND_PRIVACY_URL ?? `${base}${lang === 'en' ? '/privacy' : '/informacja-o-danych'}`,
    accessibility: config.BRAND_ACCESSIBILITY_URL ?? `${base}${lang === 'en' ? '/accessibility' : '/deklaracja-dostepnosci'}`,
    manage: `${base}/manage${suffix}`,
  };
}

/** What every e-mail takes from the configuration: fixed per process, filled in when MJML compiles. */
export interface EmailBrand {
  officeName: Record<Lang, string>;
  /** #rrggbb of the header band and the buttons */
  primaryColor: string;
  /** absolute link of the office name in the header */
  homeUrl: string;
  /** absolute https logo, shown when BRAND_LOGO_URL is one (SVG and paths are left out: mail clients) */
  logoUrl?: string;
  privacyUrl: Record<Lang, string>;
  manageUrl: Record<Lang, string>;
  /** MAIL_REPLY_TO is set: the footer invites replies instead of asking not to reply */
  repliesRead: boolean;
  /** CONFIRM_TOKEN_TTL_DAYS, as the confirmation e-mail states it */
  confirmDays: number;
}

/** The e-mails' brand under this configuration. */
export function emailBrand(config: Config): EmailBrand {
  const home = config.BRAND_HOME_URL ?? `${config.PUBLIC_URL}/subscribe`;
  const logo = config.BRAND_LOGO_URL;
  return {
    officeName: officeNames(config),
    primaryColor: (config.BRAND_PRIMARY_COLOR ?? DEFAULT_PRIMARY_COLOR).toLowerCase(),
    homeUrl: home,
    ...(logo && /^https:\/\/\S+\.(png|jpe?g|gif)(\?\S*)?$/i.test(logo) ? { logoUrl: logo } : {}),
    privacyUrl: { pl: legalLinks(config, 'pl', true).privacy, en: legalLinks(config, 'en', true).privacy },
    manageUrl: { pl: legalLinks(config, 'pl', true).manage, en: legalLinks(config, 'en', true).manage },
    repliesRead: config.MAIL_REPLY_TO !== undefined,
    confirmDays: config.CONFIRM_TOKEN_TTL_DAYS,
  };
}
