-- name: ensure-feed
-- Registers a watched feed (or updates its topic) and returns its state.
INSERT INTO feeds (url, topic) VALUES ($1, $2)
ON CONFLICT (url) DO UPDATE SET topic = EXCLUDED.topic
RETURNING url, topic, etag, last_modified, first_poll_at, last_poll_at, last_ok_at, last_error;

-- name: record-feed-fetched
-- A full fetch whose items were all recorded: keep its validators ($2 etag, $3 last-modified).
-- first_poll_at is set only here, so a first poll that failed leaves the next one silent too.
UPDATE feeds
SET etag = $2, last_modified = $3, first_poll_at = coalesce(first_poll_at, now()),
    last_poll_at = now(), last_ok_at = now(), last_error = NULL
WHERE url = $1;

-- name: record-feed-not-modified
-- The server answered 304 Not Modified.
UPDATE feeds SET last_poll_at = now(), last_ok_at = now(), last_error = NULL WHERE url = $1;

-- name: record-feed-error
-- A poll failed ($2 what went wrong); validators stay so the next poll retries the same way.
UPDATE feeds SET last_poll_at = now(), last_error = $2 WHERE url = $1;
