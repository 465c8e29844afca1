-- name: get-totp-state
-- An operator's second factor: the encrypted secret (NULL while off), the secret being set up, and
-- the last accepted time step.
SELECT id, email, role, password_hash, totp_secret, totp_pending_secret, totp_last_step, totp_enabled_at
FROM operators WHERE id = $1 AND disabled_at IS NULL;

-- name: set-pending-secret
-- Starts (or restarts) setting up TOTP: stores the new encrypted secret while the factor is still off.
UPDATE operators SET totp_pending_secret = $2 WHERE id = $1 AND totp_secret IS NULL AND disabled_at IS NULL RETURNING id;

-- name: enable-totp
-- Turns TOTP on with the pending secret ($2, as read) once a code for step $3 confirmed it; the step is
-- recorded so the confirming code cannot also sign in. Nothing returned when another request won.
UPDATE operators SET totp_secret = totp_pending_secret, totp_pending_secret = NULL, totp_last_step = $3, totp_enabled_at = now()
WHERE id = $1 AND totp_secret IS NULL AND totp_pending_secret = $2 RETURNING id;

-- name: claim-totp-step
-- Accepts a code of step $2 only when it is newer than every accepted one: in one statement, so two
-- requests with the same code cannot both pass (replay).
UPDATE operators SET totp_last_step = $2
WHERE id = $1 AND totp_secret IS NOT NULL AND (totp_last_step IS NULL OR totp_last_step < $2) RETURNING id;

-- name: disable-totp
-- Turns TOTP off and drops its secret, the pending one and the recovery codes (an admin's reset, or
-- the operator with password and code). Returns the operator when it was on or being set up.
WITH codes AS (DELETE FROM operator_recovery_codes WHERE operator_id = $1)
UPDATE operators SET totp_secret = NULL, totp_pending_secret = NULL, totp_last_step = NULL, totp_enabled_at = NULL
WHERE id = $1 AND (totp_secret IS NOT NULL OR totp_pending_secret IS NOT NULL) RETURNING id;

-- name: get-operator-id-by-email
-- An operator's id by normalised address (enabled or not: a reset is allowed on a disabled account).
SELECT id FROM operators WHERE email = $1;

-- name: replace-recovery-codes
-- Replaces an operator's recovery codes with new ones (hashes in $2).
WITH dropped AS (DELETE FROM operator_recovery_codes WHERE operator_id = $1)
INSERT INTO operator_recovery_codes (code_hash, operator_id) SELECT h, $1 FROM unnest($2::text[]) AS h;

-- name: use-recovery-code
-- Spends one unused recovery code; nothing returned when unknown or already used (a code works once).
UPDATE operator_recovery_codes SET used_at = now()
WHERE code_hash = $2 AND operator_id = $1 AND used_at IS NULL RETURNING code_hash;

-- name: count-recovery-codes
-- How many recovery codes an operator has left.
SELECT count(*)::int AS left FROM operator_recovery_codes WHERE operator_id = $1 AND used_at IS NULL;

-- name: insert-challenge
-- Opens the second step of a sign-in for an operator whose password was right.
INSERT INTO operator_sign_in_challenges (id_hash, operator_id) VALUES ($1, $2);

-- name: get-challenge
-- The operator of a live sign-in challenge (younger than $2 seconds, account enabled, TOTP on).
SELECT o.id, o.email, o.role FROM operator_sign_in_challenges c JOIN operators o ON o.id = c.operator_id
WHERE c.id_hash = $1 AND c.created_at > now() - make_interval(secs => $2) AND o.disabled_at IS NULL AND o.totp_secret IS NOT NULL;

-- name: delete-challenge
-- Ends a sign-in challenge (the code passed, or the operator started again); also drops expired ones.
DELETE FROM operator_sign_in_challenges WHERE id_hash = $1 OR created_at < now() - make_interval(secs => $2);
