-- name: insert-manage-link-request
-- Records one request for a management link: $1 a normalised address typed by a visitor, or NULL with
-- $3 a subscriber id (an operator's request); $2 the language. Returns its id. The same single INSERT
-- for a known and an unknown address: the answer must not reveal which.
INSERT INTO manage_link_requests (email, lang, subscriber_id) VALUES ($1, $2, $3) RETURNING id;

-- name: lock-manage-link-request
-- The request, locked while the worker resolves it; no row when it was deleted meanwhile.
SELECT id, email, lang, outcome, subscriber_id FROM manage_link_requests WHERE id = $1 FOR UPDATE;

-- name: find-subscriber-id-by-email
-- The id of the subscriber with this normalised address (any status), if any.
SELECT id FROM subscribers WHERE email = $1;

-- name: claim-confirmation-slot
-- Takes one slot of the per-address cap on confirmation-class e-mails ($2 per sliding 24 h window, the
-- same counter the subscription requests use); no row when the cap is reached.
UPDATE subscribers AS s
SET confirm_mail_count = CASE WHEN s.confirm_mail_window_start IS NULL OR s.confirm_mail_window_start < now() - interval '24 hours'
                              THEN 1 ELSE s.confirm_mail_count + 1 END,
    confirm_mail_window_start = CASE WHEN s.confirm_mail_window_start IS NULL OR s.confirm_mail_window_start < now() - interval '24 hours'
                                     THEN now() ELSE s.confirm_mail_window_start END
WHERE s.id = $1
  AND (s.confirm_mail_window_start IS NULL OR s.confirm_mail_window_start < now() - interval '24 hours' OR s.confirm_mail_count < $2)
RETURNING s.confirm_mail_count;

-- name: resolve-manage-link-request
-- Stores the outcome and clears the address: from here on the row holds no personal data of its own.
UPDATE manage_link_requests SET outcome = $2, subscriber_id = $3, email = NULL WHERE id = $1;

-- name: delete-old-manage-link-requests
-- Deletes requests older than $1 hours (resolved or not); returns how many.
WITH gone AS (
  DELETE FROM manage_link_requests WHERE requested_at < now() - make_interval(hours => $1::int) RETURNING 1
)
SELECT count(*)::int AS deleted FROM gone;
