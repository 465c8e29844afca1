import type { Subscriber } from '../core/subscriptions.ts';
import type { Suppression } from '../db/suppression-queries.ts';
import type { Topic } from '../db/topic-queries.ts';

/** A subscriber as the admin API shows it. */
export function presentSubscriber(s: Subscriber) {
  return {
    id: s.id,
    email: s.email,
    status: s.status,
    topics: s.topics,
    lang: s.lang,
    frequency: s.frequency,
    createdAt: s.created_at,
    confirmedAt: s.confirmed_at,
    unsubscribedAt: s.unsubscribed_at,
  };
}

/** A topic as the API shows it. */
export function presentTopic(t: Topic) {
  return { slug: t.slug, name: t.name };
}

/** A suppression entry as the admin API shows it: only the hash of the address exists. */
export function presentSuppression(s: Suppression) {
  return { emailHash: s.email_hash, reason: s.reason, note: s.note, createdAt: s.created_at };
}
