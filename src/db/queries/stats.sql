-- name: subscribers-by-status
-- Number of subscribers per status (pending, active, unsubscribed), from the counters the triggers of
-- migration 0013 keep (subscriber_counts, topic_slug ''): a few dozen rows, however many subscribers.
SELECT status, sum(count)::bigint AS count FROM subscriber_counts WHERE topic_slug = ''
GROUP BY status HAVING sum(count) <> 0 ORDER BY status;

-- name: subscribers-by-topic
-- Per topic: its active subscribers and all subscribers (any status) that chose it; topics without any
-- show 0. From the per-section counters (subscriber_counts, migration 0013).
SELECT t.slug,
       coalesce(sum(c.count) FILTER (WHERE c.status = 'active'), 0)::bigint AS active,
       coalesce(sum(c.count), 0)::bigint AS total
FROM topics t
LEFT JOIN subscriber_counts c ON c.topic_slug = t.slug
GROUP BY t.slug
ORDER BY t.slug;

-- name: deliveries-by-status
-- Number of deliveries per status over the whole ledger (pending, sent, failed, suppressed).
SELECT status, count(*) AS count FROM deliveries GROUP BY status ORDER BY status;

-- name: deliveries-by-status-since
-- Deliveries per status whose last change ($1) is recent: what happened in a window (24 h, 7 days).
SELECT status, count(*) AS count FROM deliveries WHERE updated_at >= $1 GROUP BY status ORDER BY status;

-- name: list-feeds
-- Every polled feed with its last poll, last success and last error.
SELECT url, topic, last_poll_at, last_ok_at, last_error FROM feeds ORDER BY url;

-- name: recent-articles-progress
-- The newest $1 articles with their fan-out state and delivery counts per status, from the counters the
-- ledger's triggers keep (article_delivery_counts, migration 0011): a few rows per article, whatever its size.
SELECT a.id, a.title, a.url, a.topics, a.published_at, a.created_at, a.notify, a.fanout_status, a.fanout_done_at,
       coalesce(sum(c.count), 0)::bigint AS total,
       coalesce(sum(c.count) FILTER (WHERE c.status = 'pending'), 0)::bigint AS pending,
       coalesce(sum(c.count) FILTER (WHERE c.status = 'sent'), 0)::bigint AS sent,
       coalesce(sum(c.count) FILTER (WHERE c.status = 'failed'), 0)::bigint AS failed,
       coalesce(sum(c.count) FILTER (WHERE c.status = 'suppressed'), 0)::bigint AS suppressed
FROM (SELECT * FROM articles ORDER BY created_at DESC, id DESC LIMIT $1) a
LEFT JOIN article_delivery_counts c ON c.article_id = a.id
GROUP BY a.id, a.title, a.url, a.topics, a.published_at, a.created_at, a.notify, a.fanout_status, a.fanout_done_at
ORDER BY a.created_at DESC, a.id DESC;
