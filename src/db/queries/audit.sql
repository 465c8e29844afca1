-- name: insert-audit-entry
-- Appends one entry; the table refuses updates and deletes.
INSERT INTO audit_log (actor, operator_id, action, object_type, object_id, detail)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id, at, actor, action, object_type, object_id, detail;

-- name: list-audit-entries
-- Newest first, $1 rows before id $2 (keyset paging); $3/$4 filter on the object when not NULL.
SELECT id, at, actor, action, object_type, object_id, detail
FROM audit_log
WHERE id < $2 AND ($3::text IS NULL OR object_type = $3) AND ($4::text IS NULL OR object_id = $4)
ORDER BY id DESC
LIMIT $1;
