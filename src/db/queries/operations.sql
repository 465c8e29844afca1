-- name: export-subscribers-page
-- One keyset page of subscribers for export ($1 = last id seen, $2 = page size), each with its topics and
-- the source of its newest consent; ordered by id.
SELECT s.id, s.email, s.status, s.lang, s.created_at, s.confirmed_at, s.unsubscribed_at,
       coalesce((SELECT array_agg(st.topic_slug ORDER BY st.topic_slug) FROM subscriber_topics st WHERE st.subscriber_id = s.id), '{}') AS topics,
       (SELECT c.source FROM consents c WHERE c.subscriber_id = s.id ORDER BY c.id DESC LIMIT 1) AS consent_source
FROM subscribers s
WHERE s.id > $1
ORDER BY s.id
LIMIT $2;

-- name: reset-failed-deliveries
-- Puts an article's ($1) failed deliveries back to pending and unclaimed, so a send job (or the reconciler)
-- takes them again. Suppressed deliveries stay as they are. Returns the ids in order.
UPDATE deliveries
SET status = 'pending', last_error = NULL, claimed_by = NULL, claimed_at = NULL, updated_at = now()
WHERE article_id = $1 AND status = 'failed'
RETURNING id;
