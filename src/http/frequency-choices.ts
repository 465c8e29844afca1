import type { Config } from '../config.ts';
import { translate, type Lang } from '../i18n.ts';

/** One radio button of the frequency group: value, label, one-line explanation, checked. */
export interface FrequencyChoice {
  value: 'immediate' | 'daily' | 'weekly';
  label: string;
  hint: string;
  checked: boolean;
}

/** The frequency radio group of the form and the preferences page, its hints naming DIGEST_TIME and DIGEST_WEEKDAY. */
export function frequencyChoices(config: Pick<Config, 'DIGEST_TIME' | 'DIGEST_WEEKDAY'>, lang: Lang, current: string): FrequencyChoice[] {
  const fill = (text: string) =>
    text.replace('{time}', config.DIGEST_TIME).replace('{weekday}', translate(lang, `pages.frequency.weekdays.${config.DIGEST_WEEKDAY}`));
  return (['immediate', 'daily', 'weekly'] as const).map((value) => ({
    value,
    label: translate(lang, `pages.frequency.${value}`),
    hint: fill(translate(lang, `pages.frequency.${value}Hint`)),
    checked: value === current,
  }));
}
