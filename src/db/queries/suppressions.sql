-- name: upsert-suppression
-- Suppresses an address (by hash); a later reason replaces an earlier one.
INSERT INTO suppressions (email_hash, reason, note) VALUES ($1, $2, $3)
ON CONFLICT (email_hash) DO UPDATE SET reason = EXCLUDED.reason, note = EXCLUDED.note, created_at = now();

-- name: get-suppression
-- The suppression of one address hash, if any.
SELECT email_hash, reason, note, created_at FROM suppressions WHERE email_hash = $1;

-- name: delete-suppression
-- Lifts the suppression of one address hash.
DELETE FROM suppressions WHERE email_hash = $1 RETURNING email_hash;

-- name: delete-erasure-suppression
-- Lifts only an erasure suppression (the address opted in anew).
DELETE FROM suppressions WHERE email_hash = $1 AND reason = 'erased';

-- name: list-suppressions
-- Suppressions, newest first, paginated ($1 limit, $2 offset).
SELECT email_hash, reason, note, created_at FROM suppressions ORDER BY created_at DESC, email_hash LIMIT $1 OFFSET $2;

-- name: filter-suppressed-hashes
-- Which of the given address hashes ($1 text[]) are suppressed.
SELECT email_hash FROM suppressions WHERE email_hash = ANY ($1::text[]);
