-- name: insert-article
-- Records an article unless its guid or its canonical URL exists ($1 guid … $10 notify, $11 fan-out
-- status, $12 canonical URL); returns the new row or nothing.
INSERT INTO articles (guid, url, title, summary, image_url, lang, source, topics, published_at, notify, fanout_status, canonical_url)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, coalesce($9, now()), $10, $11, $12)
ON CONFLICT DO NOTHING
RETURNING *;

-- name: get-article-by-identity
-- The first article with this guid ($1) or this canonical URL ($2).
SELECT * FROM articles WHERE guid = $1 OR canonical_url = $2 ORDER BY id LIMIT 1;

-- name: force-article-notify
-- Turns on the notification of an article recorded without one (too old, --no-notify); no row when it
-- was notified already, so a fan-out never starts twice.
UPDATE articles SET notify = true, fanout_status = 'pending'
WHERE id = $1 AND notify = false AND fanout_status = 'skipped'
RETURNING *;

-- name: get-article-by-guid
-- One article by its idempotency key.
SELECT * FROM articles WHERE guid = $1;

-- name: get-article
-- One article by id.
SELECT * FROM articles WHERE id = $1;

-- name: list-articles
-- Articles, newest publication first, paginated ($1 limit, $2 offset).
SELECT * FROM articles ORDER BY published_at DESC, id DESC LIMIT $1 OFFSET $2;

-- name: count-articles
-- How many articles there are.
SELECT count(*)::int AS total FROM articles;

-- name: count-deliveries
-- The delivery ledger of one article, counted by status (from article_delivery_counts, kept by the ledger's triggers).
SELECT coalesce(sum(count), 0)::int AS recipients,
       coalesce(sum(count) FILTER (WHERE status = 'sent'), 0)::int AS sent,
       coalesce(sum(count) FILTER (WHERE status = 'failed'), 0)::int AS failed,
       coalesce(sum(count) FILTER (WHERE status = 'pending'), 0)::int AS pending,
       coalesce(sum(count) FILTER (WHERE status = 'suppressed'), 0)::int AS suppressed
FROM article_delivery_counts WHERE article_id = $1;

-- name: list-unknown-topics
-- Which of the given slugs ($1 text[]) are not topics.
SELECT slug FROM unnest($1::text[]) AS t(slug) WHERE NOT EXISTS (SELECT 1 FROM topics WHERE topics.slug = t.slug);
