import type { Topic } from '../db/topic-queries.ts';
import { translate, type Lang } from '../i18n.ts';

/** A topic's display name in a language (English names come from the texts when known). */
export function topicDisplayName(topic: Topic, lang: Lang): string {
  if (lang === 'pl') return topic.name;
  if (topic.name_en) return topic.name_en;
  try {
    return translate(lang, `topicNames.${topic.slug}`);
  } catch {
    return topic.name;
  }
}
