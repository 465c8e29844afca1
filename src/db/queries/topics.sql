-- name: list-topics
-- Every topic, alphabetically by slug.
SELECT slug, name FROM topics ORDER BY name COLLATE "C", slug;

-- name: insert-topic
-- Adds a topic; 23505 when the slug exists.
INSERT INTO topics (slug, name) VALUES ($1, $2) RETURNING slug, name;

-- name: delete-topic
-- Removes a topic and every subscription to it.
DELETE FROM topics WHERE slug = $1 RETURNING slug;
