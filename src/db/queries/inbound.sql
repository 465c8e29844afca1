-- name: claim-inbound-message
-- Claims a message key for processing inside the caller's transaction ($1 key, $2 source, $3 kind).
-- Returns a row only when the key is new or only threw before ('error'); no row = already processed, act not.
-- The row lock makes a second processor of the same message wait, then see it processed.
INSERT INTO inbound_messages AS m (message_key, source, kind, outcome) VALUES ($1, $2, $3, 'processing')
ON CONFLICT (message_key) DO UPDATE SET kind = EXCLUDED.kind, outcome = 'processing', attempts = m.attempts + 1
WHERE m.outcome = 'error'
RETURNING m.message_key;

-- name: finish-inbound-message
-- Records what a claimed message did ($1 key, $2 outcome, $3 email hash, $4 soft bounce?, $5 detail).
UPDATE inbound_messages SET outcome = $2, email_hash = $3, soft = $4, detail = $5, received_at = now() WHERE message_key = $1;

-- name: record-inbound-failure
-- Notes a processing attempt that threw (outside the rolled-back transaction); returns the attempts so
-- far, so a poison message can be set aside after a few.
INSERT INTO inbound_messages AS m (message_key, source, kind, outcome, detail) VALUES ($1, $2, 'unknown', 'error', $3)
ON CONFLICT (message_key) DO UPDATE SET attempts = m.attempts + 1, detail = EXCLUDED.detail
WHERE m.outcome = 'error'
RETURNING m.attempts;

-- name: get-inbound-outcome
-- What a processed key did ($1), so a message seen again goes to the same folder.
SELECT outcome FROM inbound_messages WHERE message_key = $1;

-- name: count-soft-bounces
-- Soft bounces of an address hash ($1) in the last $2 days, the current one included.
SELECT count(*)::int AS n FROM inbound_messages WHERE soft AND email_hash = $1 AND received_at > now() - make_interval(days => $2);

-- name: get-delivery-recipient
-- The subscriber and address of a notification delivery ($1), when the subscriber still exists.
SELECT d.id AS delivery_id, s.id AS subscriber_id, s.email FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE d.id = $1;

-- name: mark-delivery-bounced
-- A delivery the recipient's server gave up on after accepting it: failed, with the status and the
-- (masked) diagnostic.
UPDATE deliveries SET status = 'failed', last_error = $2, updated_at = now() WHERE id = $1 AND status IN ('sent', 'pending', 'failed');

-- name: get-digest-delivery-recipient
-- The subscriber and address of a digest delivery ($1, digest_deliveries.id), when the subscriber still exists.
SELECT d.id AS delivery_id, s.id AS subscriber_id, s.email FROM digest_deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE d.id = $1;

-- name: mark-digest-delivery-bounced
-- A digest delivery the recipient's server gave up on after accepting it: failed, with the status and the
-- (masked) diagnostic, exactly as mark-delivery-bounced does for notifications.
UPDATE digest_deliveries SET status = 'failed', last_error = $2, updated_at = now() WHERE id = $1 AND status IN ('sent', 'pending', 'failed');

-- name: find-subscriber-by-email
-- The subscriber with this normalised address ($1), if any.
SELECT id, email FROM subscribers WHERE email = $1;

-- name: get-subscriber-email
-- The address of subscriber $1, if it still exists.
SELECT id, email FROM subscribers WHERE id = $1;

-- name: inbound-stats
-- Inbound messages of the last 24 hours by outcome, and failures still waiting for another attempt.
SELECT outcome, count(*)::int AS n FROM inbound_messages WHERE received_at > now() - interval '24 hours' GROUP BY outcome;

-- name: record-mailbox-poll
-- Records one pass over the mailbox ($1 mailbox, $2 ok?, $3 error): a failed pass keeps the last success.
INSERT INTO inbound_mailbox_status AS m (mailbox, last_poll_at, last_ok_at, last_error)
VALUES ($1, now(), CASE WHEN $2 THEN now() END, $3)
ON CONFLICT (mailbox) DO UPDATE SET last_poll_at = now(), last_ok_at = CASE WHEN $2 THEN now() ELSE m.last_ok_at END, last_error = $3;

-- name: list-mailbox-status
-- Every mailbox's last pass.
SELECT mailbox, last_poll_at, last_ok_at, last_error FROM inbound_mailbox_status ORDER BY mailbox;
