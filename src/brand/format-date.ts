import type { Lang } from '../i18n.ts';

const ZONE = 'Europe/Warsaw';

/** A day as Polish and English official texts write it: "28 kwietnia 2024 r." / "28 April 2024". */
export function formatDay(date: Date, lang: Lang): string {
  const day = new Intl.DateTimeFormat(lang === 'en' ? 'en-GB' : 'pl-PL', { dateStyle: 'long', timeZone: ZONE }).format(date);
  return lang === 'en' ? day : `${day} r.`;
}

/** A moment in Warsaw time: "28 kwietnia 2024 r., godz. 01:03" / "28 April 2024, 01:03". */
export function formatDateTime(date: Date, lang: Lang): string {
  const time = new Intl.DateTimeFormat('pl-PL', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: ZONE }).format(date);
  return lang === 'en' ? `${formatDay(date, lang)}, ${time}` : `${formatDay(date, lang)}, godz. ${time}`;
}
