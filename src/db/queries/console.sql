-- name: subscriber-deliveries
-- One subscriber's notification history, newest first: which article, what happened, when and why it failed.
SELECT d.article_id, a.title, d.status, d.attempts, d.last_error, d.created_at, d.sent_at, d.updated_at
FROM deliveries d JOIN articles a ON a.id = d.article_id
WHERE d.subscriber_id = $1
ORDER BY d.id DESC
LIMIT $2;

-- name: article-failures-by-reason
-- Failed deliveries of an article grouped by their error, biggest group first, with up to 5 addresses
-- each (the caller masks them) and the ids of the subscribers for a look-up.
SELECT coalesce(d.last_error, '') AS reason, count(*) AS count,
       (array_agg(s.email ORDER BY d.id) FILTER (WHERE s.email IS NOT NULL))[1:5] AS emails
FROM deliveries d LEFT JOIN subscribers s ON s.id = d.subscriber_id
WHERE d.article_id = $1 AND d.status = 'failed'
GROUP BY coalesce(d.last_error, '')
ORDER BY count(*) DESC
LIMIT 50;

-- name: list-sections
-- Every section with its active subscribers (from subscriber_counts, migration 0013), in the operators'
-- order (archived ones last).
WITH active AS (
  SELECT topic_slug, sum(count) AS n FROM subscriber_counts
  WHERE status = 'active' AND topic_slug <> '' GROUP BY topic_slug
)
SELECT t.slug, t.name, t.name_en, t.description, t.position, t.archived_at, coalesce(a.n, 0)::bigint AS active
FROM topics t LEFT JOIN active a ON a.topic_slug = t.slug
ORDER BY t.archived_at IS NOT NULL, t.position NULLS LAST, t.name COLLATE "C", t.slug;

-- name: insert-section
-- Adds a section at the end of the order; 23505 when the slug exists.
INSERT INTO topics (slug, name, name_en, description, position)
VALUES ($1, $2, $3, $4, (SELECT coalesce(max(position), 0) + 1 FROM topics))
RETURNING slug;

-- name: update-section
-- Renames a section (Polish and English name, description); nothing when unknown.
UPDATE topics SET name = $2, name_en = $3, description = $4 WHERE slug = $1 RETURNING slug;

-- name: set-section-archived
-- Archives (hides from the form, keeps subscriptions) or restores a section.
UPDATE topics SET archived_at = CASE WHEN $2::boolean THEN coalesce(archived_at, now()) END WHERE slug = $1 RETURNING slug;

-- name: reorder-sections
-- Sets every section's position from the order of slugs in $1 (text[]); sections not named keep theirs.
UPDATE topics t SET position = o.ordinality
FROM unnest($1::text[]) WITH ORDINALITY AS o(slug, ordinality)
WHERE t.slug = o.slug;

-- name: record-mail-outcome
-- Counts $3 e-mails of kind $1 with outcome $2 ('sent', 'failed', 'deferred', 'suppressed') in this hour.
SELECT powiadom_count_mail($1, $2, $3);

-- name: mail-outcomes-since
-- E-mails by kind and outcome from the hour holding $1 on (mail_outcomes_hourly: at most 6 × 4 rows an hour).
SELECT kind, outcome, sum(count)::bigint AS count
FROM mail_outcomes_hourly WHERE hour >= date_trunc('hour', $1::timestamptz)
GROUP BY kind, outcome;

-- name: subscriber-changes
-- What happened to subscribers since $1 (today) and since $2 (7 days), from the hour holding each on:
-- sign-ups, confirmations and unsubscriptions from subscriber_changes_hourly (migration 0013; at most
-- 3 × 16 rows an hour), erasures by the 'erased' suppression each one leaves.
WITH changes AS (
  SELECT hour, change, sum(count) AS n FROM subscriber_changes_hourly
  WHERE hour >= date_trunc('hour', $2::timestamptz) GROUP BY hour, change
)
SELECT coalesce(sum(n) FILTER (WHERE change = 'new' AND hour >= date_trunc('hour', $1::timestamptz)), 0)::int AS new_today,
       coalesce(sum(n) FILTER (WHERE change = 'new'), 0)::int AS new_week,
       coalesce(sum(n) FILTER (WHERE change = 'confirmed' AND hour >= date_trunc('hour', $1::timestamptz)), 0)::int AS confirmed_today,
       coalesce(sum(n) FILTER (WHERE change = 'confirmed'), 0)::int AS confirmed_week,
       coalesce(sum(n) FILTER (WHERE change = 'unsubscribed' AND hour >= date_trunc('hour', $1::timestamptz)), 0)::int AS unsubscribed_today,
       coalesce(sum(n) FILTER (WHERE change = 'unsubscribed'), 0)::int AS unsubscribed_week,
       (SELECT count(*) FROM suppressions WHERE reason = 'erased' AND created_at >= $1)::int AS erased_today,
       (SELECT count(*) FROM suppressions WHERE reason = 'erased' AND created_at >= $2)::int AS erased_week
FROM changes;

-- name: inbound-by-kind-since
-- Inbound messages received since $1 by kind and outcome ('error' = attempts that threw, retried later).
SELECT kind, outcome, count(*)::int AS count
FROM inbound_messages WHERE received_at >= $1
GROUP BY kind, outcome ORDER BY kind, outcome;
