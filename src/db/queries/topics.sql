-- name: list-topics
-- Every topic (archived ones too, so existing subscriptions keep their names), in the operators' order,
-- then alphabetically.
SELECT slug, name, name_en, archived_at FROM topics ORDER BY position NULLS LAST, name COLLATE "C", slug;

-- name: insert-topic
-- Adds a topic; 23505 when the slug exists.
INSERT INTO topics (slug, name) VALUES ($1, $2) RETURNING slug, name;

-- name: delete-topic
-- Removes a topic and every subscription to it.
DELETE FROM topics WHERE slug = $1 RETURNING slug;
