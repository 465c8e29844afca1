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
-- Every section with its subscriber counts, in the operators' order (archived ones last).
WITH active AS (
  SELECT st.topic_slug, count(*) AS n
  FROM subscriber_topics st JOIN subscribers s ON s.id = st.subscriber_id AND s.status = 'active'
  GROUP BY st.topic_slug
)
SELECT t.slug, t.name, t.name_en, t.description, t.position, t.archived_at, coalesce(a.n, 0) AS active
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
