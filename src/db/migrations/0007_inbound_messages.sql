-- Mail that comes back: every inbound message (bounce, complaint, mailto unsubscribe, auto-reply,
-- unrecognised) and every provider webhook event, recorded once under its key. The row is written in the
-- same transaction as the message's effect, so a message seen again (a crash between commit and the move
-- out of the inbox, a provider's retry) is recognised and never acts twice.

CREATE TABLE inbound_messages (
  -- '<source>:<Message-ID or provider event id>' (or ':sha256:<hash of the raw message>' without one)
  message_key text PRIMARY KEY CHECK (length(message_key) <= 1000),
  source      text NOT NULL CHECK (source IN ('imap', 'ses', 'mailgun', 'postmark')),
  kind        text NOT NULL CHECK (kind IN ('bounce', 'complaint', 'unsubscribe', 'auto_reply', 'unknown')),
  -- 'error' rows are attempts that threw; they are retried and never count as processed
  outcome     text NOT NULL,
  -- SHA-256 of the normalised address the message was about (never the address itself)
  email_hash  text,
  -- true for a soft bounce (4.x.x, Action: delayed), counted against SOFT_BOUNCE_LIMIT
  soft        boolean NOT NULL DEFAULT false,
  detail      text,
  attempts    integer NOT NULL DEFAULT 1,
  received_at timestamptz NOT NULL DEFAULT now()
);

-- Soft bounces of one address within SOFT_BOUNCE_WINDOW_DAYS.
CREATE INDEX inbound_messages_soft_idx ON inbound_messages (email_hash, received_at) WHERE soft;
-- /api/stats counts by outcome over the last day.
CREATE INDEX inbound_messages_received_idx ON inbound_messages (received_at);

-- The bounce mailbox as the poller last saw it, for /api/stats in every process (one row per mailbox).
CREATE TABLE inbound_mailbox_status (
  mailbox      text PRIMARY KEY,
  last_poll_at timestamptz NOT NULL,
  last_ok_at   timestamptz,
  last_error   text
);
