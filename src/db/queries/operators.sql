-- name: insert-operator
-- Adds an operator without a password; 23505 when the address exists.
INSERT INTO operators (email, role) VALUES ($1, $2)
RETURNING id, email, role, created_at, password_set_at, disabled_at, totp_secret IS NOT NULL AS totp;

-- name: list-operators
-- Every operator, oldest first.
SELECT id, email, role, created_at, password_set_at, disabled_at, totp_secret IS NOT NULL AS totp
FROM operators ORDER BY id;

-- name: get-operator-by-email
-- One operator with its password hash and TOTP secret, for signing in.
SELECT id, email, role, password_hash, totp_secret, disabled_at FROM operators WHERE email = $1;

-- name: disable-operator
-- Disables an operator and ends every session of theirs in the same statement; NULL when unknown.
WITH ended AS (DELETE FROM operator_sessions WHERE operator_id = (SELECT id FROM operators WHERE email = $1))
UPDATE operators SET disabled_at = coalesce(disabled_at, now()) WHERE email = $1 RETURNING id;

-- name: insert-password-token
-- Stores a one-time set-password link valid for $3 seconds.
INSERT INTO operator_password_tokens (token_hash, operator_id, expires_at)
VALUES ($1, $2, now() + make_interval(secs => $3));

-- name: use-password-token
-- Spends a set-password link: sets the password when the link is unused, unexpired and the account
-- enabled, ending every session of the account. Returns the operator id, or nothing.
WITH spent AS (
  UPDATE operator_password_tokens t SET used_at = now()
  FROM operators o
  WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > now() AND o.id = t.operator_id AND o.disabled_at IS NULL
  RETURNING t.operator_id
), ended AS (
  DELETE FROM operator_sessions WHERE operator_id IN (SELECT operator_id FROM spent)
)
UPDATE operators SET password_hash = $2, password_set_at = now()
WHERE id IN (SELECT operator_id FROM spent) RETURNING id, email;

-- name: check-password-token
-- True when a set-password link can still be used.
SELECT EXISTS (
  SELECT 1 FROM operator_password_tokens t JOIN operators o ON o.id = t.operator_id
  WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > now() AND o.disabled_at IS NULL
) AS usable;

-- name: insert-session
-- Starts a session for an operator.
INSERT INTO operator_sessions (id_hash, operator_id, csrf_token, user_agent) VALUES ($1, $2, $3, $4);

-- name: touch-session
-- The live session with its operator, refreshing last_seen_at. A session ends when idle for $2 seconds,
-- $3 seconds after it began, or once its operator is disabled: then nothing is returned.
UPDATE operator_sessions s SET last_seen_at = now()
FROM operators o
WHERE s.id_hash = $1 AND o.id = s.operator_id AND o.disabled_at IS NULL
  AND s.last_seen_at > now() - make_interval(secs => $2)
  AND s.created_at > now() - make_interval(secs => $3)
RETURNING o.id, o.email, o.role, s.csrf_token;

-- name: delete-session
-- Ends one session (sign-out, rotation at sign-in).
DELETE FROM operator_sessions WHERE id_hash = $1;

-- name: delete-stale-sessions
-- Removes sessions past their absolute or idle timeout.
DELETE FROM operator_sessions
WHERE last_seen_at < now() - make_interval(secs => $1) OR created_at < now() - make_interval(secs => $2);
