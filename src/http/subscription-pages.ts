import type { Config } from '../config.ts';
import type { Subscriber } from '../core/subscriptions.ts';
import { topicDisplayName } from '../core/topic-names.ts';
import type { Topic } from '../core/topics.ts';
import { translate, type Lang } from '../i18n.ts';
import { frequencyChoices } from './frequency-choices.ts';

/** Page-data presenters of the subscription pages: the form and the preferences page. */

const FIELD_ORDER = ['email', 'topics', 'lang', 'consent', 'altcha'] as const;

/** One checkbox of the topic list. */
export interface TopicChoice {
  slug: string;
  name: string;
  checked: boolean;
}

/** The topics a visitor may tick, those in `checked` ticked. */
export function presentTopicChoices(topics: Topic[], lang: Lang, checked: string[]): TopicChoice[] {
  return topics.map((t) => ({ slug: t.slug, name: topicDisplayName(t, lang), checked: checked.includes(t.slug) }));
}

/** What the subscription form shows: values, refused fields (in the form's order) and the choices. */
export interface SubscribeFormView {
  lang: Lang;
  topics: Topic[];
  values: Record<string, unknown>;
  fields?: Record<string, string>;
  config: Pick<Config, 'DIGEST_TIME' | 'DIGEST_WEEKDAY'>;
  altchaWidget: string;
}

/** The subscription form's page data; a refused topic points the error summary at the first ticked box. */
export function presentSubscribeForm(view: SubscribeFormView): Record<string, unknown> {
  const { lang, values, fields } = view;
  const checked = Array.isArray(values.topics) ? (values.topics as string[]) : [];
  const fieldErrors = Object.fromEntries(Object.keys(fields ?? {}).map((f) => [f.split('.')[0], translate(lang, `pages.errors.${f.split('.')[0]}`)]));
  const errors = FIELD_ORDER.filter((f) => fieldErrors[f]).map((f) => ({ field: f === 'topics' ? `topic-${checked[0] ?? 'aktualnosci'}` : f, message: fieldErrors[f] }));
  return {
    topics: presentTopicChoices(view.topics, lang, checked),
    values: { lang, ...values },
    fieldErrors,
    errors: errors.length ? errors : undefined,
    source: typeof values.source === 'string' ? values.source : 'form',
    frequencies: frequencyChoices(view.config, lang, typeof values.frequency === 'string' ? values.frequency : 'immediate'),
    altchaWidget: view.altchaWidget,
  };
}

/** The values a refused form post is redrawn with: as typed, the address cut to 254 characters. */
export function refusedFormValues(body: Record<string, unknown>): Record<string, unknown> {
  const topics = body.topics === undefined ? [] : ([] as unknown[]).concat(body.topics).map(String);
  return { email: String(body.email ?? '').slice(0, 254), topics, consent: body.consent !== undefined, source: body.source, frequency: body.frequency };
}

/** What the preferences page shows. */
export interface PreferencesView {
  token: string;
  subscriber: Subscriber;
  lang: Lang;
  topics: Topic[];
  config: Pick<Config, 'DIGEST_TIME' | 'DIGEST_WEEKDAY'>;
}

/** The preferences page's data: status, choices and the URLs of its forms; `extra` adds flags and errors. */
export function presentPreferences(view: PreferencesView, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const { token, subscriber, lang } = view;
  const suffix = lang === 'en' ? '?lang=en' : '';
  return {
    subscriber,
    statusText: translate(lang, `pages.preferences.status${subscriber.status[0]!.toUpperCase()}${subscriber.status.slice(1)}`),
    unsubscribed: subscriber.status === 'unsubscribed',
    topics: presentTopicChoices(view.topics, lang, subscriber.topics),
    frequencies: frequencyChoices(view.config, lang, subscriber.frequency),
    action: `/preferences/${token}${suffix}`,
    unsubscribeAction: `/preferences/${token}/unsubscribe${suffix}`,
    eraseAction: `/preferences/${token}/erase${suffix}`,
    exportUrl: `/preferences/${token}/export`,
    subscribeUrl: lang === 'en' ? '/subscribe?lang=en' : '/subscribe',
    ...extra,
  };
}

/** The preferences page redrawn after core refused the topics: the choice as sent, the topic error named. */
export function presentRefusedPreferences(view: PreferencesView): Record<string, unknown> {
  const fieldErrors = { topics: translate(view.lang, 'pages.errors.topics') };
  return presentPreferences(view, { fieldErrors, errors: [{ field: 'topic-aktualnosci', message: fieldErrors.topics }] });
}
