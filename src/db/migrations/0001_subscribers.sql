-- Topics (sections of the office's site), subscribers, their topics, GDPR consent records,
-- and the hashed suppression list.

CREATE TABLE topics (
  slug       text PRIMARY KEY CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO topics (slug, name) VALUES
  ('aktualnosci', 'Aktualności'),
  ('dla-mediow', 'Dla mediów'),
  ('komunikaty', 'Komunikaty'),
  ('ogloszenia', 'Ogłoszenia i obwieszczenia');

CREATE TABLE subscribers (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- normalised (trimmed, lower-case) address; unique
  email            text NOT NULL UNIQUE CHECK (length(email) <= 254),
  status           text NOT NULL CHECK (status IN ('pending', 'active', 'unsubscribed')),
  lang             text NOT NULL DEFAULT 'pl' CHECK (lang IN ('pl', 'en')),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  -- when the current opt-in cycle began; unconfirmed cycles expire PENDING_TTL_DAYS after it
  pending_since    timestamptz,
  confirmed_at     timestamptz,
  unsubscribed_at  timestamptz,
  -- sliding 24 h window for the cap on confirmation e-mails (subscription bombing)
  confirm_mail_window_start timestamptz,
  confirm_mail_count        integer NOT NULL DEFAULT 0
);

CREATE INDEX subscribers_pending_since_idx ON subscribers (pending_since) WHERE status = 'pending';
CREATE INDEX subscribers_status_idx ON subscribers (status);

CREATE TABLE subscriber_topics (
  subscriber_id bigint NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
  topic_slug    text NOT NULL REFERENCES topics (slug) ON DELETE CASCADE,
  PRIMARY KEY (subscriber_id, topic_slug)
);

-- Fan-out reads subscribers of a topic in id order.
CREATE INDEX subscriber_topics_topic_idx ON subscriber_topics (topic_slug, subscriber_id);

-- One row per opt-in cycle (GDPR art. 7 proof of consent). Deleted with the subscriber on erasure.
CREATE TABLE consents (
  id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  subscriber_id        bigint NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
  source               text NOT NULL,
  consent_text_version text NOT NULL,
  requested_at         timestamptz NOT NULL DEFAULT now(),
  request_ip           inet,
  user_agent           text,
  confirmed_at         timestamptz,
  confirm_ip           inet,
  withdrawn_at         timestamptz,
  withdraw_method      text
);

CREATE INDEX consents_subscriber_idx ON consents (subscriber_id, id);

-- Addresses that must not be mailed, stored only as SHA-256 of the normalised address.
CREATE TABLE suppressions (
  email_hash text PRIMARY KEY,
  reason     text NOT NULL CHECK (reason IN ('erased', 'hard_bounce', 'complaint', 'manual')),
  note       text,
  created_at timestamptz NOT NULL DEFAULT now()
);
