-- Operators' console: named operator accounts, their one-time set-password links, server-side sessions
-- and the append-only audit log of every operator and admin-API action.

CREATE TABLE operators (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- normalised (trimmed, lower-case) address; staff, not subscribers
  email           text NOT NULL UNIQUE CHECK (length(email) <= 254),
  role            text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
  -- scrypt$N$r$p$salt$hash; NULL until the operator set a password through the link
  password_hash   text,
  -- base32 TOTP secret; NULL while the second factor is off
  totp_secret     text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  password_set_at timestamptz,
  disabled_at     timestamptz
);

-- One-time links to set a password (24 h); only the SHA-256 of the token is stored.
CREATE TABLE operator_password_tokens (
  token_hash  text PRIMARY KEY,
  operator_id bigint NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz
);

-- Server-side sessions: deleting a row (sign-out, disabled account) ends the session at once.
-- Only the SHA-256 of the cookie's value is stored.
CREATE TABLE operator_sessions (
  id_hash      text PRIMARY KEY,
  operator_id  bigint NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
  csrf_token   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  user_agent   text
);

CREATE INDEX operator_sessions_operator_idx ON operator_sessions (operator_id);

-- Who did what, when, on which object. Kept as long as consent records; never updated or deleted.
CREATE TABLE audit_log (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  -- the operator's address, or "admin token" for the break-glass account and the Bearer API
  actor       text NOT NULL,
  operator_id bigint REFERENCES operators (id),
  action      text NOT NULL,
  object_type text,
  object_id   text,
  -- never a subscriber's address: ids, hashes, reasons
  detail      jsonb NOT NULL DEFAULT '{}'
);

CREATE INDEX audit_log_at_idx ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_object_idx ON audit_log (object_type, object_id, id DESC);

-- Append-only: UPDATE, DELETE and TRUNCATE are refused for every role, the owner included.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END;
$$;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Sections managed from the console: an English name and a description, an order, and archiving
-- (hidden from the subscription form, subscriptions kept) instead of deleting every subscription.
ALTER TABLE topics ADD COLUMN name_en text CHECK (length(name_en) BETWEEN 1 AND 200);
ALTER TABLE topics ADD COLUMN description text CHECK (length(description) <= 1000);
ALTER TABLE topics ADD COLUMN position integer;
ALTER TABLE topics ADD COLUMN archived_at timestamptz;
