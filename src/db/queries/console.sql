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
