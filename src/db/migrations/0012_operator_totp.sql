-- TOTP second factor for operator accounts (RFC 6238): the secret encrypted with a key derived from
-- SECRET, the last accepted time step (a code works once), one-time recovery codes (hashed), and the
-- pending second step of a sign-in (the password passed, no session yet).

COMMENT ON COLUMN operators.totp_secret IS 'TOTP secret, AES-256-GCM encrypted (v1.iv.tag.data); NULL while the second factor is off';
-- the secret being set up, encrypted like totp_secret; becomes totp_secret once a code confirms it
ALTER TABLE operators ADD COLUMN totp_pending_secret text;
-- the newest 30-second step whose code was accepted: codes of this step or older are refused (replay)
ALTER TABLE operators ADD COLUMN totp_last_step bigint;
ALTER TABLE operators ADD COLUMN totp_enabled_at timestamptz;

-- One-time recovery codes: only their SHA-256 is stored; a code is spent by setting used_at.
CREATE TABLE operator_recovery_codes (
  code_hash   text PRIMARY KEY,
  operator_id bigint NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
  used_at     timestamptz
);

CREATE INDEX operator_recovery_codes_operator_idx ON operator_recovery_codes (operator_id);

-- The second step of a sign-in: the password was right, the code is still due. Only the SHA-256 of
-- the cookie's value is stored; a challenge lives a few minutes and ends with the session it starts.
CREATE TABLE operator_sign_in_challenges (
  id_hash     text PRIMARY KEY,
  operator_id bigint NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL DEFAULT now()
);
